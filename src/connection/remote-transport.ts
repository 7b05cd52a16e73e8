import type { BridgeEvents, BridgeLink } from '../interfaces/connection-bridge.interface.js';
import { findBinaryRecord } from '../protocol/binary-message-format.js';
import { findTextRecord } from '../protocol/text-message-format.js';
import { WEBSOCKET_CLOSE_TIMEOUT } from '../signalr.constants.js';
import type { ConnectionTransport, TransportEvents, TransportOwner } from './connection-transport.js';
import { OwedCredit } from './owed-credit.js';
import { webSocketCloseError } from './websocket-close.js';

/** A batch larger than this crosses as several WebSocket messages, split between records, so the window bounds what crosses. */
const PIECE = 64 * 1024;

/**
 * The owner's side of a WebSocket another instance holds (a stateful re-attach that landed there):
 * the connection writes and reads as over a local socket, the bytes crossing the bridge.
 *
 * Outbound, at most the link's window is in flight; what the connection writes beyond it waits here
 * and counts in `bufferedAmount`, so send backpressure and the slow-consumer limit apply as to a
 * local socket whose client stops reading (the other instance never holds more than the window).
 * Inbound, the frames taken are credited back to the socket side, except while the connection
 * paused reading: then the credit is held, and the other instance stops reading its socket once
 * its window is used up, as a local socket's pause does.
 */
export class RemoteTransport<T extends TransportOwner = TransportOwner> implements ConnectionTransport, BridgeEvents {
  readonly name = 'WebSockets' as const;
  readonly supportsBinary = true;
  private inFlight = 0;
  private readonly waiting: Array<{ data: Buffer; binary: boolean }> = [];
  private waitingBytes = 0;
  /** Inbound bytes taken and not yet credited back: held while paused, batched otherwise. */
  private readonly owed = new OwedCredit(
    (bytes) => this.link.credit(bytes),
    () => this.paused || this.ended,
  );
  private paused = false;
  private drainWatched = false;
  /** close() was called: nothing more is sent, and the Close goes once what waits went out. */
  private closing = false;
  private closeTimer: NodeJS.Timeout | null = null;
  private ended = false;

  constructor(
    readonly owner: T,
    readonly events: TransportEvents<T>,
    /** The accepted bridge: writes cross it. */
    private readonly link: BridgeLink,
  ) {}

  send(data: Buffer, binary: boolean): void {
    if (this.ended || this.closing) return;
    if (data.length <= PIECE) return this.sendPiece(data, binary);
    for (const piece of pieces(data, binary)) this.sendPiece(piece, binary);
  }

  private sendPiece(data: Buffer, binary: boolean): void {
    if (this.waiting.length > 0 || !this.fits(data.length)) {
      this.waiting.push({ data, binary });
      this.waitingBytes += data.length;
      return;
    }
    this.cross(data, binary);
  }

  /** Whether `length` more bytes may cross now: within the window, or alone in flight (a piece larger than the window). */
  private fits(length: number): boolean {
    return this.inFlight === 0 || this.inFlight + length <= this.link.window;
  }

  private cross(data: Buffer, binary: boolean): void {
    this.inFlight += data.length;
    this.link.frame(data, binary);
  }

  get bufferedAmount(): number {
    return this.inFlight + this.waitingBytes;
  }

  /**
   * What waits goes out first, as the credits allow (a local socket's close frame follows its queued
   * data too); a client that does not take it within `closeTimeout` is cut off, as a local one is.
   */
  close(closeTimeout = WEBSOCKET_CLOSE_TIMEOUT): void {
    if (this.ended || this.closing) return;
    this.closing = true;
    if (this.waiting.length === 0) return this.finish(1000);
    this.closeTimer = setTimeout(() => this.finish(1006), closeTimeout);
    this.closeTimer.unref();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.owed.schedule();
  }

  watchDrain(): void {
    this.drainWatched = true;
  }

  // What the other instance reports.
  frame(data: Buffer, binary: boolean): void {
    if (this.ended || this.owner.transport !== this) return;
    this.owed.took(data.length);
    this.events.receive(this.owner, data, binary);
  }

  credit(bytes: number): void {
    this.inFlight = Math.max(0, this.inFlight - bytes);
    while (this.waiting.length > 0 && this.fits(this.waiting[0].data.length)) {
      const { data, binary } = this.waiting.shift()!;
      this.waitingBytes -= data.length;
      this.cross(data, binary);
    }
    if (this.closing && this.waiting.length === 0) return this.finish(1000);
    if (!this.drainWatched) return;
    this.drainWatched = false;
    this.events.drained?.(this.owner);
  }

  closed(code: number): void {
    if (this.ended) return;
    this.drop();
    this.events.transportClosed(this.owner, webSocketCloseError(code), this);
  }

  /** The bridge ends with `code`: 1006 has the other instance cut its socket off. */
  private finish(code: number): void {
    this.drop();
    this.link.close(code);
  }

  private drop(): void {
    this.ended = true;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.waiting.length = 0;
    this.waitingBytes = 0;
  }
}

/**
 * A batch of complete records as pieces of about PIECE bytes, each of whole records (the client
 * parses every WebSocket message on its own): text records end with the record separator, binary
 * ones carry their length. A record larger than a piece is a piece of its own.
 */
function* pieces(data: Buffer, binary: boolean): Generator<Buffer> {
  let start = 0;
  let end = 0;
  while (end < data.length) {
    const next = (binary ? findBinaryRecord : findTextRecord)(data, end)?.next ?? data.length;
    if (next - start > PIECE && end > start) {
      yield data.subarray(start, end);
      start = end;
    }
    end = next;
  }
  if (end > start) yield data.subarray(start, end);
}
