import { Logger } from '@nestjs/common';
import { writeHandshakeResponse } from '../protocol/handshake-protocol.js';
import type { CloseMessage } from '../protocol/hub-messages.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import { DEFAULT_SHUTDOWN_TIMEOUT, SHUTDOWN_WEBSOCKET_CLOSE_TIMEOUT } from '../signalr.constants.js';
import { CloseTexts, HandshakeTexts, LogTexts } from '../signalr.messages.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import type { ConnectionTransport } from './connection-transport.js';
import type { ConnectionController, HubConnection } from './hub-connection.js';
import { selectProtocol } from './handshake.js';
import { keepEarlyBytes, readRecords, type RecordSink } from './inbound-records.js';
import type { ConnectionDispatcher, ConnectionLifetime } from './connection-contracts.js';
import type { InvocationSlot } from './invocation-slot.js';
import { enter, HUB_CONNECTION_LIFECYCLE as LIFECYCLE } from './connection-lifecycle.js';
import { MessageReplay } from './message-replay.js';
import { MessagePump } from './message-pump.js';
import { sweepStateful } from './stateful-reconnect.js';
import { EndWaiters, invocationsDrained, timedOut } from './shutdown-waits.js';
import type { ConnectionRunner } from './connection-runner.js';
import { dueOnTick, PingBytes } from './connection-timeouts.js';
import { sendBufferDrained, sendBufferExpired } from './send-backpressure.js';
import { asError, clientTimeoutError, CLOSE_PLAIN, CLOSE_RECONNECT, closeWithError } from './close-messages.js';
import { connectionFields, describeError, logEvent, stackOf } from '../logging/log-event.js';
import { ClientCausedLogs } from '../logging/rate-limited-log.js';
import { connectionTelemetry } from '../observability/connection-telemetry.js';

const EMPTY = Buffer.alloc(0);
const DONE = Promise.resolve();

/**
 * Runs every connection of one hub: handshake, connected, read and dispatch, close, disconnected.
 * Errors in hub code become protocol messages; nothing here throws into a transport.
 */
export class HubConnectionHandler implements ConnectionRunner<HubConnection>, ConnectionController {
  private readonly logger = new Logger('SignalR');
  private readonly connections = new Set<HubConnection>();
  private readonly pings = new PingBytes();
  private readonly endWaiters = new EndWaiters();
  /** Messages read go through it to the hub layer. */
  private readonly messages: MessagePump;
  /** How long a closing WebSocket may wait for its peer's close frame; shorter once shutdown began. */
  private transportCloseTimeout: number | undefined;
  /** A detached stateful connection whose client did not come back in time. */
  private readonly endDetached = (connection: HubConnection) => this.settle(connection);
  /** Where the records read from a connection go (one object for every connection of the hub). */
  private readonly records: RecordSink = {
    handshake: (connection, buffer, start, end) => this.completeHandshake(connection, buffer, start, end),
    failHandshake: (connection, error) => this.failHandshake(connection, error),
    message: (connection, message) => this.messages.enqueue(connection, message),
  };

  constructor(
    private readonly dispatcher: ConnectionDispatcher,
    private readonly lifetime: ConnectionLifetime,
    private readonly protocols: ReadonlyMap<string, HubProtocol>,
    private readonly onEnded: (connection: HubConnection) => void,
    /** For log lines. */
    private readonly hubName = 'hub',
  ) {
    this.messages = new MessagePump(dispatcher, lifetime, this, hubName);
  }

  /** A log line's fields: this hub and the connection's id, user and transport. */
  private fields(connection: HubConnection) {
    return { hub: this.hubName, ...connectionFields(connection) };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  // 1. Handshake: the transport started, the handshake request is the first record read.
  /**
   * Starts the life of one connection: handshake, onConnected, messages, close, onDisconnected. Each
   * step calls the next as the table in connection-lifecycle.ts says, instead of one async function
   * awaiting them: a suspended async frame (its generator, registers and promises) cost ~700 B per
   * idle connection.
   */
  run(connection: HubConnection, transport: ConnectionTransport, request: HubRequest): void {
    // An endpoint moved it to 'handshaking' when the request that starts the transport came in; a
    // connection made without an endpoint (an in-memory transport) moves now.
    enter(connection, LIFECYCLE, 'handshaking');
    connection.transport = transport;
    connection.request = request;
    connection.createdAt = connection.lastReceivedAt = connection.lastSentAt = Date.now();
    connection.controller = this;
    this.connections.add(connection);
    connectionTelemetry.started(connection);
    // Bytes POSTed before the transport started (HTTP transports) are read now.
    if (connection.receiveBuffer !== null) this.receive(connection, EMPTY);
  }

  /** Bytes from the transport: the handshake first, then hub messages (inbound-records.ts), then dispatch. */
  receive(connection: HubConnection, data: Buffer): void {
    if (connection.state === 'closed') return;
    if (connection.state === 'negotiated') return keepEarlyBytes(connection, data);
    connection.lastReceivedAt = Date.now();
    try {
      if (!readRecords(connection, data, this.records)) return;
    } catch (error) {
      if (ClientCausedLogs.badInput.allow())
        this.logger.debug(
          logEvent('ErrorProcessingRequest', `Closing connection ${connection.connectionId}: ${asError(error).message}`, {
            ...this.fields(connection),
            error: describeError(error),
          }),
        );
      this.close(connection, closeWithError(error, connection.options.enableDetailedErrors, true), asError(error));
      return;
    }
    this.messages.pump(connection);
  }

  /** Validates the handshake request; on success the response is the first thing written. */
  private completeHandshake(connection: HubConnection, buffer: Buffer, start: number, end: number): boolean {
    const supportsBinary = connection.transport?.supportsBinary !== false;
    const outcome = selectProtocol(this.protocols, buffer, start, end, supportsBinary, connection.options.enableDetailedErrors);
    if ('error' in outcome) {
      this.failHandshake(connection, outcome.error);
      return false;
    }
    connection.writeBytes(writeHandshakeResponse());
    connection.protocol = outcome.protocol;
    // Stateful reconnect needs all of: the hub allows it, negotiate asked, WebSockets, handshake version 2.
    if (connection.statefulRequested && outcome.version >= 2 && connection.transport?.name === 'WebSockets') {
      connection.replay = new MessageReplay(connection.options.statefulReconnectBufferSize);
    }
    enter(connection, LIFECYCLE, 'connecting');
    // onConnected starts once this read is parsed, so the messages that came with the handshake queue first.
    void DONE.then(() => this.connected(connection));
    return true;
  }

  private failHandshake(connection: HubConnection, error: string): void {
    if (ClientCausedLogs.handshakeFailed.allow())
      this.logger.debug(
        logEvent('HandshakeFailed', `Handshake failed for connection ${connection.connectionId}: ${error}`, {
          ...this.fields(connection),
          error: String(error),
        }),
      );
    connection.writeBytes(writeHandshakeResponse(error));
    this.close(connection, null, new Error(error));
  }

  // 2. Connected: the lifetime manager and the hub's onConnected; onDisconnected is owed once it completed.
  /** The handshake succeeded: the lifetime manager, then the hub's onConnected, then the messages. */
  private connected(connection: HubConnection): void {
    let pending: void | Promise<void>;
    try {
      this.lifetime.onConnected(connection);
      pending = this.dispatcher.onConnected(connection);
    } catch (error) {
      return this.connectFailed(connection, error);
    }
    if (pending === undefined) this.opened(connection);
    else
      pending.then(
        () => this.opened(connection),
        (error) => this.connectFailed(connection, error),
      );
  }

  private connectFailed(connection: HubConnection, error: unknown): void {
    this.hookFailed(connection, 'onConnected', error);
    this.close(connection, closeWithError(error, connection.options.enableDetailedErrors, false), asError(error));
    this.finish(connection);
  }

  /** onConnected completed: onDisconnected is owed from now on. */
  private opened(connection: HubConnection): void {
    connection.hubConnected = true;
    if (enter(connection, LIFECYCLE, 'connected')) this.messages.pump(connection);
    // Closed while onConnected ran (the client can leave meanwhile): onDisconnected is owed now.
    else void DONE.then(() => this.disconnected(connection));
  }

  // 3. Read and dispatch: message-pump.ts.
  /** Gives an invocation's slot back before the invocation ends (it awaits a client result). */
  releaseInvocationSlot(connection: HubConnection, slot: InvocationSlot): void {
    this.messages.releaseInvocationSlot(connection, slot);
  }

  // 4. Close: from the peer (its transport ended), from the server (a Close, abort(), a timeout), or a re-attach.
  /**
   * The transport ended on its own (the peer went away). A stateful connection whose socket broke
   * off waits for its client to re-attach instead; a transport already replaced is ignored.
   */
  transportClosed(connection: HubConnection, error?: Error, transport?: ConnectionTransport): void {
    if (connection.state === 'closed' || (transport !== undefined && transport !== connection.transport)) return;
    connection.closeError = error;
    if (error !== undefined && connection.replay !== null) {
      connection.detachedAt = Date.now();
      return;
    }
    this.settle(connection);
  }

  /** A new WebSocket for a stateful connection (stateful reconnect): it replaces the old one. */
  reattach(connection: HubConnection, transport: ConnectionTransport): void {
    const previous = connection.transport;
    connection.closeError = undefined;
    connection.attach(transport);
    if (connection.readingPaused) transport.pause();
    // A socket the client gave up on may still look open here: it goes now, without ending the connection.
    previous?.close(0);
  }

  /** Ends a connection: the Close message (if any) goes out first, then the transport closes. */
  close(connection: HubConnection, message: CloseMessage | null, error: Error | undefined): void {
    if (connection.state === 'closed') return;
    if (message !== null && connection.protocol !== null) connection.write(message);
    connection.flush();
    connection.closeError = error;
    this.settle(connection);
    connection.transport?.close(this.transportCloseTimeout);
  }

  /** `Context.abort()`: a plain Close, as ASP.NET Core sends. */
  abort(connection: HubConnection): void {
    this.close(connection, CLOSE_PLAIN, undefined);
  }

  /** A slow consumer passed its send limit: closed with an error that lets it reconnect. */
  sendBufferFull(connection: HubConnection): void {
    // Cleared first, so the Close message written while closing goes out instead of overflowing again.
    connection.watchSendLimit = false;
    connectionTelemetry.slowConsumerClosed();
    const error = new Error(CloseTexts.sendBufferFull(connection.options.maximumSendBufferSize));
    if (ClientCausedLogs.slowConsumer.allow())
      this.logger.warn(logEvent('SlowConsumerClosed', `Closing slow connection ${connection.connectionId}: ${error.message}`, this.fields(connection)));
    this.close(connection, closeWithError(error, connection.options.enableDetailedErrors, true), error);
  }

  /** Outbound backpressure (send-backpressure.ts): invocations that waited for the client to read go on once it did. */
  checkSendBuffer(connection: HubConnection): void {
    // Not from inside the flush or drain that got here: the next invocation starts on the next turn.
    if (sendBufferDrained(connection)) void DONE.then(() => this.messages.pump(connection));
  }

  /** The transport wrote out what it held (after watchDrain). */
  drained(connection: HubConnection): void {
    this.checkSendBuffer(connection);
  }

  // 5. Disconnected: onDisconnected when owed, then the connection is forgotten.
  /**
   * Closes the connection and moves on whatever waited for it: a pending handshake ends, a connected
   * hub gets onDisconnected (one still in onConnected gets it from opened). Never synchronously:
   * whoever closed the connection finishes first (its transport closes, its Close goes out).
   */
  private settle(connection: HubConnection): void {
    const from = connection.state;
    if (!enter(connection, LIFECYCLE, 'closed')) return;
    if (from === 'handshaking') void DONE.then(() => this.finish(connection));
    else if (from === 'connected') void DONE.then(() => this.disconnected(connection));
  }

  /** The connection closed after onConnected: the hub's onDisconnected, then the end. */
  private disconnected(connection: HubConnection): void {
    let pending: void | Promise<void>;
    try {
      pending = this.dispatcher.onDisconnected(connection, connection.closeError);
    } catch (error) {
      return this.disconnectFailed(connection, error);
    }
    if (pending === undefined) this.finish(connection);
    else
      pending.then(
        () => this.finish(connection),
        (error) => this.disconnectFailed(connection, error),
      );
  }

  private disconnectFailed(connection: HubConnection, error: unknown): void {
    this.hookFailed(connection, 'onDisconnected', error);
    this.finish(connection);
  }

  /** A lifecycle hook of the hub threw or rejected: ASP.NET Core's ErrorDispatchingHubEvent. */
  private hookFailed(connection: HubConnection, hook: 'onConnected' | 'onDisconnected', error: unknown): void {
    this.logger.error(
      logEvent('ErrorDispatchingHubEvent', `Error when dispatching '${hook}' on hub ${connection.path}.`, {
        ...this.fields(connection),
        method: hook,
        error: describeError(error),
      }),
      stackOf(error),
    );
  }

  private finish(connection: HubConnection): void {
    if (connection.protocol !== null) this.lifetime.onDisconnected(connection);
    this.connections.delete(connection);
    this.messages.forget(connection);
    connectionTelemetry.ended(connection, this);
    connection.release();
    this.onEnded(connection);
    this.endWaiters.release(connection);
  }

  // Every connection at once: the shared tick, and shutdown.
  /** Handshake timeout, keep-alive pings and client timeout, on the shared tick. */
  sweep(now: number): void {
    for (const connection of this.connections) {
      connection.transport?.tick?.(now);
      if (connection.sendPaused || connection.sendFullSince !== 0) {
        if (sendBufferExpired(connection, now)) this.sendBufferFull(connection);
        else this.checkSendBuffer(connection);
        if (connection.state === 'closed') continue;
      }
      if (connection.replay !== null && sweepStateful(connection, connection.replay, now, this.endDetached)) continue;
      switch (dueOnTick(connection, now)) {
        case 'handshake-timeout':
          this.failHandshake(connection, HandshakeTexts.canceled);
          break;
        case 'authentication-expired':
          // A plain Close that lets the client reconnect with a fresh token.
          this.close(connection, CLOSE_RECONNECT, undefined);
          break;
        case 'client-timeout': {
          const error = clientTimeoutError();
          connectionTelemetry.timedOut(connection);
          this.close(connection, closeWithError(error, connection.options.enableDetailedErrors, true), error);
          break;
        }
        case 'ping':
          connection.writeBytes(this.pings.of(connection.protocol!));
          break;
      }
    }
  }

  /**
   * Shutdown: each connection's running invocations may finish (their Completions go out before the
   * Close) for up to `timeout` ms, then every connection is closed with `message` (by default one
   * that lets its client reconnect elsewhere) whether or not they did, and its onDisconnected is
   * awaited for up to `timeout` ms more. Never throws.
   */
  async closeAll(timeout = DEFAULT_SHUTDOWN_TIMEOUT, message: CloseMessage = CLOSE_RECONNECT): Promise<void> {
    // A client that does not answer the close frame must not hold the app's server open for long.
    this.transportCloseTimeout = SHUTDOWN_WEBSOCKET_CLOSE_TIMEOUT;
    connectionTelemetry.shutdownBegan(this);
    const deadline = Date.now() + timeout;
    const abandoned = await Promise.all(
      [...this.connections].map(async (connection) => {
        // Awaits only while invocations run: an idle connection closes at once.
        const busy = connection.activeInvocations > 0 && (await invocationsDrained(connection, deadline));
        this.close(connection, message, undefined);
        return busy;
      }),
    );
    const busy = abandoned.filter(Boolean).length;
    if (busy > 0) this.logger.warn(logEvent('ShutdownTimedOut', LogTexts.shutdownTimedOut(this.hubName, busy, 'running invocations'), { hub: this.hubName }));
    // Connections whose transport started while the others drained are closed too.
    const remaining = [...this.connections];
    for (const connection of remaining) this.close(connection, message, undefined);
    const ended = remaining.filter((connection) => this.connections.has(connection)).map((connection) => this.endWaiters.wait(connection));
    if (await timedOut(Promise.all(ended), timeout))
      this.logger.warn(
        logEvent('ShutdownTimedOut', LogTexts.shutdownTimedOut(this.hubName, this.connections.size, 'in onDisconnected'), { hub: this.hubName }),
      );
  }
}
