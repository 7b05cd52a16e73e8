import { TransportConnection } from '../connection/transport-connection.js';
import type { ResolvedHubOptions } from '../interfaces/hub-options.interface.js';

/**
 * One message of a raw connection: a string when it came as text (a WebSocket text frame, a POST
 * not labelled `application/octet-stream`), a Buffer when it came as binary.
 *
 * @example
 * for await (const message of connection) {
 *   if (typeof message === 'string') connection.send(message.toUpperCase());
 *   else connection.send(message.reverse());
 * }
 */
export type RawMessage = string | Buffer;

/** A connection handler's settings after the module's and the defaults were applied (resolved with the hubs' options, once). */
export type ResolvedConnectionHandlerOptions = Pick<
  ResolvedHubOptions,
  'transports' | 'maximumReceiveMessageSize' | 'maximumSendBufferSize' | 'pollTimeout' | 'disconnectTimeout' | 'requireAuthentication' | 'cors'
>;

/**
 * The part of a `ws` socket a raw connection needs. Typed here rather than imported, because
 * RawConnection's declaration file reaches this one, and the package must not need `@types/ws`
 * in an app that type-checks libraries.
 */
export interface RawWebSocket {
  readonly readyState: number;
  close(code?: number): void;
}

/** Who ends connections when the application asks to (or the client reads too slowly). */
export interface RawConnectionCloser {
  end(connection: RawConnectionState, failed: boolean): void;
}

/**
 * The server side of one raw connection: the transport connection it extends (ids, transport,
 * request, user, items, abort signal, inbound backpressure), plus the queue between what the
 * transport receives and what the handler reads (one reader, in order). Its life is
 * RAW_CONNECTION_LIFECYCLE (connection-lifecycle.ts).
 */
export class RawConnectionState extends TransportConnection<ResolvedConnectionHandlerOptions> {
  /** The socket under a WebSocket transport, to close it with 1011 when the handler fails. */
  webSocket: RawWebSocket | null = null;
  closer: RawConnectionCloser | null = null;
  private readonly inbound: RawMessage[] = [];
  private reader: ((result: IteratorResult<RawMessage>) => void) | null = null;
  private roomWaiters: Array<() => void> = [];

  /** A message from the client. A full queue pauses the transport until the handler catches up. */
  receive(message: RawMessage): void {
    if (this.state === 'closed') return;
    const reader = this.reader;
    if (reader !== null) {
      this.reader = null;
      reader({ value: message, done: false });
      return;
    }
    this.inbound.push(message);
    this.inboundQueued(this.inbound.length);
  }

  /** Null when the queue has room; otherwise resolves once it has (HTTP sends wait before reading a POST). */
  room(): Promise<void> | null {
    if (!this.readingPaused || this.state === 'closed') return null;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** The handler's next message: queued ones first, then done once the connection ended. */
  next(): Promise<IteratorResult<RawMessage>> {
    if (this.inbound.length > 0) {
      const value = this.inbound.shift()!;
      if (this.inboundTaken(this.inbound.length)) this.wakeRoomWaiters();
      return Promise.resolve({ value, done: false });
    }
    if (this.state === 'closed') return Promise.resolve({ value: undefined, done: true });
    if (this.reader !== null) return Promise.reject(new Error('A raw connection has one reader at a time.'));
    return new Promise((resolve) => (this.reader = resolve));
  }

  send(data: string | Uint8Array): void {
    const transport = this.transport;
    if (this.state !== 'connected' || transport === null) return;
    const binary = typeof data !== 'string';
    const bytes = binary ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data, 'utf8');
    if (transport.bufferedAmount + bytes.length > this.options.maximumSendBufferSize) {
      // A client that stops reading must not grow our memory: it is dropped instead.
      this.closer?.end(this, true);
      return;
    }
    transport.send(bytes, binary);
  }

  /** The connection is over: the reader gets what is queued, then done; the abort signal fires. Idempotent. */
  override markClosed(): void {
    if (this.state === 'closed') return;
    super.markClosed();
    const reader = this.reader;
    this.reader = null;
    reader?.({ value: undefined, done: true });
    this.wakeRoomWaiters();
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
