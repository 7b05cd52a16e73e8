import type { HubRequest } from '../interfaces/hub-request.interface.js';
import type { ConnectionTransport, TransportOwner } from './connection-transport.js';

/**
 * The origin of the times a connection keeps, one ms before this module loaded so a time taken
 * later is never 0 (a 0 means "not set"). Offsets stay small integers for 24 days of uptime; past
 * that they are stored boxed, as plain Date.now() values would be from the start.
 */
const EPOCH = Date.now() - 1;

/**
 * `time` as an offset from the module's epoch; `| 0` keeps it a small integer stored in the object
 * itself, where a Date.now() value would be a boxed heap number (16 B more per time kept).
 */
export function tickOf(time: number): number {
  const tick = time - EPOCH;
  return tick >= -0x80000000 && tick <= 0x7fffffff ? tick | 0 : tick;
}

/** The epoch time (ms, as Date.now()) a tick stands for. */
export function timeOf(tick: number): number {
  return tick + EPOCH;
}

/**
 * Where a connection is in its life. A raw connection goes negotiated → connected → closed; a hub
 * connection has the handshake and its hub's onConnected in between (see hub-connection-lifecycle.ts).
 */
export type ConnectionState = 'negotiated' | 'handshaking' | 'connecting' | 'connected' | 'closed';

/** The settings the transport level reads, whatever runs on the connection. */
export interface TransportConnectionOptions {
  readonly maximumReceiveMessageSize: number | null;
  readonly maximumSendBufferSize: number;
  readonly pollTimeout: number;
  readonly disconnectTimeout: number;
}

/** Inbound backpressure: past the high mark of messages waiting for their reader the transport stops reading, at the low mark it resumes. */
export const INBOUND_HIGH_WATER = 64;
export const INBOUND_LOW_WATER = 16;

/**
 * The transport level of one connection, as ASP.NET Core's HttpConnectionContext: ids, the endpoint
 * it belongs to, its transport, the request that started it and its user, per-connection items, the
 * abort signal, and the inbound backpressure flag. Hub connections and raw connections extend it, so
 * a connection stays one object (no second object, no pointer between two) however it is used.
 */
export class TransportConnection<O extends TransportConnectionOptions = TransportConnectionOptions> implements TransportOwner {
  state: ConnectionState = 'negotiated';
  transport: ConnectionTransport | null = null;
  /** The HTTP request that started the transport (the upgrade, the event stream, the first poll). */
  request: HubRequest | null = null;
  /** What `authenticate` returned for that request; undefined when anonymous. */
  user: unknown = undefined;
  /** The transport was paused because too many received messages wait for their reader. */
  readingPaused = false;
  private createdTick = tickOf(Date.now());
  private itemsMap: Map<unknown, unknown> | null = null;
  private aborter: AbortController | null = null;

  constructor(
    readonly connectionId: string,
    readonly connectionToken: string,
    /** The path of the endpoint that negotiated it; a token is only valid there. */
    readonly path: string,
    readonly options: O,
  ) {}

  /** When the connection was created, or its transport started (ms since the epoch, as Date.now()). */
  get createdAt(): number {
    return timeOf(this.createdTick);
  }
  set createdAt(time: number) {
    this.createdTick = tickOf(time);
  }

  /** Per-connection storage for application code, kept until the connection ends. */
  get items(): Map<unknown, unknown> {
    return (this.itemsMap ??= new Map());
  }

  /** Fires when the connection ends (already aborted when asked for after the end). */
  get abortSignal(): AbortSignal {
    if (this.aborter === null) {
      this.aborter = new AbortController();
      if (this.state === 'closed') this.aborter.abort();
    }
    return this.aborter.signal;
  }

  get isOpen(): boolean {
    return this.state !== 'closed';
  }

  /** Marks the connection closed and fires its abort signal. Idempotent. */
  markClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.aborter?.abort();
  }

  /** `waiting` received messages wait for their reader: past the high mark the transport stops reading. */
  inboundQueued(waiting: number): void {
    if (waiting > INBOUND_HIGH_WATER && !this.readingPaused) {
      this.readingPaused = true;
      this.transport?.pause();
    }
  }

  /** The reader took one: at the low mark the transport reads again. True when it resumed. */
  inboundTaken(waiting: number): boolean {
    if (!this.readingPaused || waiting > INBOUND_LOW_WATER) return false;
    this.readingPaused = false;
    this.transport?.resume();
    return true;
  }

  /** Drops per-connection storage once the connection is over. */
  release(): void {
    this.itemsMap = null;
  }
}
