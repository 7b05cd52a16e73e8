import type { ConnectionTransport, TransportName, TransportOwner } from '../connection/connection-transport.js';
import type { HubCorsOptions } from '../auth/cors-policy.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';

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

/** A connection handler's settings after the module's and the defaults were applied. */
export interface ResolvedConnectionHandlerOptions {
  transports: readonly TransportName[];
  maximumReceiveMessageSize: number | null;
  maximumSendBufferSize: number;
  pollTimeout: number;
  disconnectTimeout: number;
  requireAuthentication: boolean;
  cors: HubCorsOptions | null;
}

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

/** Messages a connection may hold for a handler that has not read them; beyond it the transport stops reading. */
const INBOUND_HIGH_WATER = 64;
const INBOUND_LOW_WATER = 16;

/**
 * The server side of one raw connection: identity, transport, and the bounded queue between what
 * the transport receives and what the handler reads (one reader, in order).
 */
export class RawConnectionState implements TransportOwner {
  state: 'negotiated' | 'connected' | 'closed' = 'negotiated';
  transport: ConnectionTransport | null = null;
  /** The socket under a WebSocket transport, to close it with 1011 when the handler fails. */
  webSocket: RawWebSocket | null = null;
  request: HubRequest | null = null;
  user: unknown = undefined;
  readonly createdAt = Date.now();
  closer: RawConnectionCloser | null = null;
  private itemsMap: Map<unknown, unknown> | null = null;
  private readonly inbound: RawMessage[] = [];
  private reader: ((result: IteratorResult<RawMessage>) => void) | null = null;
  private roomWaiters: Array<() => void> = [];
  private paused = false;
  private readonly aborter = new AbortController();

  constructor(
    readonly connectionId: string,
    readonly connectionToken: string,
    readonly options: ResolvedConnectionHandlerOptions,
  ) {}

  get items(): Map<unknown, unknown> {
    return (this.itemsMap ??= new Map());
  }

  get signal(): AbortSignal {
    return this.aborter.signal;
  }

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
    if (this.inbound.length >= INBOUND_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.transport?.pause();
    }
  }

  /** Null when the queue has room; otherwise resolves once it has (HTTP sends wait before reading a POST). */
  room(): Promise<void> | null {
    if (this.inbound.length < INBOUND_HIGH_WATER || this.state === 'closed') return null;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** The handler's next message: queued ones first, then done once the connection ended. */
  next(): Promise<IteratorResult<RawMessage>> {
    if (this.inbound.length > 0) {
      const value = this.inbound.shift()!;
      if (this.paused && this.inbound.length <= INBOUND_LOW_WATER) this.drained();
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
  ended(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.aborter.abort();
    const reader = this.reader;
    this.reader = null;
    reader?.({ value: undefined, done: true });
    this.wakeRoomWaiters();
  }

  private drained(): void {
    this.paused = false;
    this.transport?.resume();
    this.wakeRoomWaiters();
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
