import type { IncomingMessage } from 'http';
import type { Duplex } from 'stream';
import type { WebSocket } from 'ws';
import { enter, RAW_CONNECTION_LIFECYCLE } from '../connection/connection-lifecycle.js';
import type { ConnectionStartClaims } from '../interfaces/connection-start-claims.interface.js';
import { InvalidDataError } from '../protocol/protocol-errors.js';
import { ConnectionEndpoint } from '../transports/connection-endpoint.js';
import type { EndpointIdentity } from '../transports/request-identity.js';
import type { ConnectionRegistry } from '../transports/connection-registry.js';
import type { WebSocketTransport } from '../transports/websocket.transport.js';
import type { OnRawConnection } from './connection-handler.decorator.js';
import { RawConnectionRunner } from './raw-connection-runner.js';
import { RawConnectionState, type ResolvedConnectionHandlerOptions } from './raw-connection-state.js';

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
 * endpoint's negotiate, transports and status codes, without a handshake or hub protocol. Its
 * connections sit in the shared registry, RawConnectionRunner runs them, and their transports'
 * timers run on the shared tick.
 */
export class RawConnectionEndpoint extends ConnectionEndpoint<RawConnectionState> {
  constructor(
    path: string,
    /** The handler's class name, for log lines. */
    readonly name: string,
    handler: OnRawConnection,
    readonly options: ResolvedConnectionHandlerOptions,
    identity: EndpointIdentity,
    registry: ConnectionRegistry,
    connectionTokenSecret: string | Buffer | null = null,
    startClaims: ConnectionStartClaims | null = null,
  ) {
    const limit = options.maximumReceiveMessageSize;
    const runner = new RawConnectionRunner(name, handler, (connection) => registry.release(connection));
    super(path, { ...options, maxFrameSize: limit ?? 100 * 1024 * 1024, connectionTokenSecret, startClaims }, identity, runner, registry);
  }

  protected newConnection(connectionId: string, connectionToken: string): RawConnectionState {
    return new RawConnectionState(connectionId, connectionToken, this.path, this.options);
  }

  protected claim(connection: RawConnectionState, user: unknown): void {
    enter(connection, RAW_CONNECTION_LIFECYCLE, 'connected');
    connection.user = user;
  }

  protected override webSocketTransport(ws: WebSocket, connection: RawConnectionState, socket: Duplex): WebSocketTransport<RawConnectionState> {
    answerEmptyCloseWithNormal(ws);
    connection.webSocket = ws;
    return super.webSocketTransport(ws, connection, socket);
  }

  /** One POST body is one message, text unless labelled binary; a handler that is behind holds the POST back. */
  protected async receiveBody(req: IncomingMessage, connection: RawConnectionState): Promise<void> {
    const body = await readBody(req, this.options.maximumReceiveMessageSize);
    await connection.room();
    if (body.length > 0) connection.receive(isBinaryBody(req) ? body : body.toString('utf8'));
  }
}
