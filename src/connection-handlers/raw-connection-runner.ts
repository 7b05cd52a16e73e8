import { Logger } from '@nestjs/common';
import { WebSocket } from 'ws';
import { enter, RAW_CONNECTION_LIFECYCLE as LIFECYCLE } from '../connection/connection-lifecycle.js';
import type { ConnectionRunner } from '../connection/connection-runner.js';
import type { ConnectionTransport } from '../connection/connection-transport.js';
import { timedOut } from '../connection/shutdown-waits.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import { connectionFields, describeError, logEvent, stackOf } from '../logging/log-event.js';
import { ClientCausedLogs } from '../logging/rate-limited-log.js';
import { SHUTDOWN_WEBSOCKET_CLOSE_TIMEOUT } from '../signalr.constants.js';
import { LogTexts } from '../signalr.messages.js';
import type { OnRawConnection } from './connection-handler.decorator.js';
import { RawConnection } from './raw-connection.js';
import type { RawConnectionCloser, RawConnectionState } from './raw-connection-state.js';
import { connectionTelemetry } from '../observability/connection-telemetry.js';

/**
 * Runs the raw connections of one `@ConnectionHandler()`: the handler's onConnected gets each
 * connection as soon as its transport starts, and the connection ends when it returns (or throws,
 * or the client leaves). The counterpart of the hub connection loop for connections without a
 * hub protocol.
 */
export class RawConnectionRunner implements ConnectionRunner<RawConnectionState>, RawConnectionCloser {
  private readonly logger = new Logger('SignalR');
  private readonly handlerRuns = new Map<RawConnectionState, Promise<void>>();
  /** How long a closing WebSocket may wait for its peer's close frame; shorter once shutdown began. */
  private closeTimeout: number | undefined;

  constructor(
    /** The handler's class name, for log lines. */
    private readonly name: string,
    private readonly handler: OnRawConnection,
    /** Told about every connection that ended (the registry lets it go). */
    private readonly onEnded: (connection: RawConnectionState) => void,
  ) {}

  get connectionCount(): number {
    return this.handlerRuns.size;
  }

  run(connection: RawConnectionState, transport: ConnectionTransport, request: HubRequest): void {
    connection.transport = transport;
    connection.request = request;
    connection.closer = this;
    connectionTelemetry.started(connection);
    this.handlerRuns.set(connection, this.runHandler(connection));
  }

  /** A message from the client, as it came: text as a string, binary as a Buffer. */
  receive(connection: RawConnectionState, data: Buffer, binary: boolean): void {
    connection.receive(binary ? data : data.toString('utf8'));
  }

  /** The client side of a transport is gone (socket closed, stream closed, DELETE, no poll for too long). */
  transportClosed(connection: RawConnectionState, _error?: Error, transport?: ConnectionTransport): void {
    if (transport !== undefined && connection.transport !== transport) return;
    enter(connection, LIFECYCLE, 'closed');
    connectionTelemetry.ended(connection, this);
    this.onEnded(connection);
  }

  /** Ends a connection from the server side: the transport closes (a long poll's client still gets a 204). */
  end(connection: RawConnectionState, failed: boolean): void {
    const transport = connection.transport;
    enter(connection, LIFECYCLE, 'closed');
    // 1011 (internal error) when the handler failed, as ASP.NET Core closes after an exception.
    if (failed && connection.webSocket?.readyState === WebSocket.OPEN) connection.webSocket.close(1011);
    transport?.close(this.closeTimeout);
    connectionTelemetry.ended(connection, this);
    this.onEnded(connection);
  }

  /** Long polls notice their timeouts on the shared tick. */
  sweep(now: number): void {
    for (const connection of this.handlerRuns.keys()) connection.transport?.tick?.(now);
  }

  /** Ends every connection and waits (at most `timeout` ms) for the handlers to return. */
  async closeAll(timeout: number): Promise<void> {
    this.closeTimeout = SHUTDOWN_WEBSOCKET_CLOSE_TIMEOUT;
    connectionTelemetry.shutdownBegan(this);
    for (const connection of [...this.handlerRuns.keys()]) this.end(connection, false);
    if (this.handlerRuns.size === 0) return;
    if (await timedOut(Promise.all(this.handlerRuns.values()), timeout))
      this.logger.warn(logEvent('ShutdownTimedOut', LogTexts.connectionHandlerShutdownTimedOut(this.name, this.handlerRuns.size)));
  }

  private async runHandler(connection: RawConnectionState): Promise<void> {
    let failed = false;
    try {
      await this.handler.onConnected(new RawConnection(connection));
    } catch (error) {
      failed = true;
      if (ClientCausedLogs.connectionHandlerFailed.allow())
        this.logger.error(
          logEvent('ConnectionHandlerFailed', `Error in connection handler ${this.name} (connection ${connection.connectionId}).`, {
            ...connectionFields(connection),
            error: describeError(error),
          }),
          stackOf(error),
        );
    } finally {
      this.end(connection, failed);
      this.handlerRuns.delete(connection);
    }
  }
}
