import { Logger } from '@nestjs/common';
import type { IncomingMessage } from 'http';
import type { Duplex } from 'stream';
import { WebSocket } from 'ws';
import type { ConnectionTransport } from '../connection/connection-transport.js';
import { enter, RAW_CONNECTION_LIFECYCLE as LIFECYCLE } from '../connection/connection-lifecycle.js';
import { timedOut } from '../connection/shutdown-waits.js';
import { LogTexts } from '../signalr.messages.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import { ClientCausedLogs } from '../logging/rate-limited-log.js';
import { InvalidDataError } from '../protocol/protocol-errors.js';
import { SHUTDOWN_WEBSOCKET_CLOSE_TIMEOUT } from '../signalr.constants.js';
import { ConnectionEndpoint, type EndpointIdentity } from '../transports/connection-endpoint.js';
import type { ConnectionRegistry } from '../transports/connection-registry.js';
import type { WebSocketTransport } from '../transports/websocket.transport.js';
import type { OnRawConnection } from './connection-handler.decorator.js';
import { RawConnection } from './raw-connection.js';
import { RawConnectionState, type RawConnectionCloser, type ResolvedConnectionHandlerOptions } from './raw-connection-state.js';

/** Bytes of a POST that are binary for the client (the official clients label them so); anything else is text. */
function isBinaryBody(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/octet-stream');
}

/** One POST body is one message; beyond the size limit it is refused (413). */
async function readBody(req: IncomingMessage, limit: number | null): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req) {
    length += (chunk as Buffer).length;
    if (limit !== null && length > limit) throw new InvalidDataError(`The message exceeds ${limit} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
}

/**
 * A close frame without a status is answered with 1000, as ASP.NET Core does: `ws` would answer
 * with none, which a browser reports as 1005 instead of a clean 1000.
 */
function answerEmptyCloseWithNormal(socket: WebSocket): void {
  const close = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string | Buffer) => close(code ?? 1000, reason);
}

/**
 * The raw side of one `@ConnectionHandler()` (ASP.NET Core's MapConnectionHandler): the shared
 * endpoint's negotiate, transports and status codes, without a handshake or hub protocol. The handler
 * gets the connection as soon as its transport starts; the connection ends when the handler returns.
 * Its connections sit in the shared registry and its transports' timers run on the shared tick.
 */
export class RawConnectionEndpoint extends ConnectionEndpoint<RawConnectionState> implements RawConnectionCloser {
  private readonly logger = new Logger('SignalR');
  private readonly handlerRuns = new Map<RawConnectionState, Promise<void>>();
  /** How long a closing WebSocket may wait for its peer's close frame; shorter once shutdown began. */
  private closeTimeout: number | undefined;

  constructor(
    path: string,
    /** The handler's class name, for log lines. */
    readonly name: string,
    private readonly handler: OnRawConnection,
    readonly options: ResolvedConnectionHandlerOptions,
    identity: EndpointIdentity,
    registry: ConnectionRegistry,
  ) {
    const limit = options.maximumReceiveMessageSize;
    super(
      path,
      { ...options, maxFrameSize: limit ?? 100 * 1024 * 1024 },
      identity,
      {
        receive: (connection, data, binary) => connection.receive(binary ? data : data.toString('utf8')),
        transportClosed: (connection, _error, transport) => this.transportClosed(connection, transport),
      },
      registry,
    );
  }

  get running(): number {
    return this.handlerRuns.size;
  }

  /** Ends a connection from the server side: the transport closes (a long poll's client still gets a 204). */
  end(connection: RawConnectionState, failed: boolean): void {
    const transport = connection.transport;
    enter(connection, LIFECYCLE, 'closed');
    // 1011 (internal error) when the handler failed, as ASP.NET Core closes after an exception.
    if (failed && connection.webSocket?.readyState === WebSocket.OPEN) connection.webSocket.close(1011);
    transport?.close(this.closeTimeout);
    this.registry.release(connection);
  }

  /** Ends every connection and waits (at most `timeout` ms) for the handlers to return. */
  protected async closeConnections(timeout: number): Promise<void> {
    this.closeTimeout = SHUTDOWN_WEBSOCKET_CLOSE_TIMEOUT;
    for (const connection of [...this.handlerRuns.keys()]) this.end(connection, false);
    if (this.handlerRuns.size === 0) return;
    if (await timedOut(Promise.all(this.handlerRuns.values()), timeout)) this.logger.warn(LogTexts.connectionHandlerShutdownTimedOut(this.name, this.handlerRuns.size));
  }

  /** Long polls notice their timeouts on the shared tick. */
  sweep(now: number): void {
    for (const connection of this.handlerRuns.keys()) connection.transport?.tick?.(now);
  }

  protected newConnection(connectionId: string, connectionToken: string): RawConnectionState {
    return new RawConnectionState(connectionId, connectionToken, this.path, this.options);
  }

  protected claim(connection: RawConnectionState, user: unknown): void {
    enter(connection, LIFECYCLE, 'connected');
    connection.user = user;
  }

  protected override webSocketTransport(ws: WebSocket, connection: RawConnectionState, socket: Duplex): WebSocketTransport<RawConnectionState> {
    answerEmptyCloseWithNormal(ws);
    connection.webSocket = ws;
    return super.webSocketTransport(ws, connection, socket);
  }

  protected start(connection: RawConnectionState, transport: ConnectionTransport, request: HubRequest): void {
    connection.transport = transport;
    connection.request = request;
    connection.closer = this;
    this.handlerRuns.set(connection, this.run(connection));
  }

  /** One POST body is one message, text unless labelled binary; a handler that is behind holds the POST back. */
  protected async receiveBody(req: IncomingMessage, connection: RawConnectionState): Promise<void> {
    const body = await readBody(req, this.options.maximumReceiveMessageSize);
    await connection.room();
    if (body.length > 0) connection.receive(isBinaryBody(req) ? body : body.toString('utf8'));
  }

  /** The client side of a transport is gone (socket closed, stream closed, DELETE, no poll for too long). */
  private transportClosed(connection: RawConnectionState, transport?: ConnectionTransport): void {
    if (transport !== undefined && connection.transport !== transport) return;
    enter(connection, LIFECYCLE, 'closed');
    this.registry.release(connection);
  }

  private async run(connection: RawConnectionState): Promise<void> {
    let failed = false;
    try {
      await this.handler.onConnected(new RawConnection(connection));
    } catch (error) {
      failed = true;
      if (ClientCausedLogs.connectionHandlerFailed.allow()) this.logger.error(`Error in connection handler ${this.name} (connection ${connection.connectionId}).`, error instanceof Error ? error.stack : String(error));
    } finally {
      this.end(connection, failed);
      this.handlerRuns.delete(connection);
    }
  }
}
