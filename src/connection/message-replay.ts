import { MessageType } from '../protocol/hub-messages.js';

/** Only these message types carry sequence ids (both directions); pings, Close, Ack and Sequence do not. */
export function isSequenced(type: number): boolean {
  return type >= MessageType.Invocation && type <= MessageType.CancelInvocation;
}

/** Entries dropped from the front before the array is compacted. */
const COMPACT_AFTER = 1024;

/**
 * Stateful reconnect bookkeeping for one connection, both directions.
 *
 * Outbound: every sequenced message is kept, in order, until the client acknowledges it, so a new
 * WebSocket can replay whatever the old one may have lost. At most `bufferLimit` bytes of them are
 * handed to the transport unacknowledged; the rest wait for acks (ASP.NET Core's backpressure).
 *
 * Inbound: counts the client's sequenced messages so that, after a re-attach, the ones the client
 * replays but we already processed are recognised and dropped.
 */
export class MessageReplay {
  private entries: Buffer[] = [];
  private head = 0;
  /** Sequence id of `entries[head]` (the next id to assign when nothing is kept). */
  private firstId = 1;
  /** Kept entries, from the head, already handed to the current transport. */
  private sent = 0;
  private sentBytes = 0;
  /** Bytes of every kept entry, sent or waiting. */
  keptBytes = 0;

  private nextReceivingId = 1;
  private latestReceivedId = 0;
  private lastAckedId = 0;
  /** After a re-attach, everything before the client's Sequence message is ignored. */
  private awaitingSequence = false;

  constructor(private readonly bufferLimit: number) {}

  /** Keeps an outbound sequenced message; true when it may go out now (earlier ones went and the window is open). */
  add(bytes: Buffer): boolean {
    const waiting = this.entries.length - this.head - this.sent;
    this.entries.push(bytes);
    this.keptBytes += bytes.length;
    if (waiting !== 0 || this.sentBytes > this.bufferLimit) return false;
    this.sent++;
    this.sentBytes += bytes.length;
    return true;
  }

  /**
   * The client processed everything up to `sequenceId`: those entries are dropped. Ids beyond what
   * was sent are capped, so a bogus ack cannot discard messages that never left.
   */
  acknowledge(sequenceId: number): void {
    let count = Math.min(sequenceId - this.firstId + 1, this.sent);
    while (count-- > 0) {
      const bytes = this.entries[this.head];
      this.entries[this.head++] = EMPTY;
      this.firstId++;
      this.sent--;
      this.sentBytes -= bytes.length;
      this.keptBytes -= bytes.length;
    }
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** The next waiting entry, marked sent, while the window is open; null when none may go. */
  nextToSend(): Buffer | null {
    const index = this.head + this.sent;
    if (index >= this.entries.length || this.sentBytes > this.bufferLimit) return null;
    const bytes = this.entries[index];
    this.sent++;
    this.sentBytes += bytes.length;
    return bytes;
  }

  /**
   * A new transport took over: nothing counts as sent on it yet, the client's messages are ignored
   * until its Sequence, and the id to announce in our Sequence message is returned.
   */
  rewind(): number {
    this.sent = 0;
    this.sentBytes = 0;
    this.awaitingSequence = true;
    return this.firstId;
  }

  /** Whether an inbound message should be processed: false for duplicates and for anything before an awaited Sequence. */
  accepts(type: number): boolean {
    if (this.awaitingSequence) {
      if (type !== MessageType.Sequence) return false;
      this.awaitingSequence = false;
      return true;
    }
    if (!isSequenced(type)) return true;
    const id = this.nextReceivingId++;
    if (id <= this.latestReceivedId) return false;
    this.latestReceivedId = id;
    return true;
  }

  /** The client's Sequence message: where its replay starts. False when it claims more than it ever sent. */
  resetSequence(sequenceId: number): boolean {
    if (sequenceId > this.nextReceivingId) return false;
    this.nextReceivingId = sequenceId;
    return true;
  }

  /** The id to acknowledge when something arrived since the last Ack, else 0. */
  takeAck(): number {
    if (this.latestReceivedId <= this.lastAckedId) return 0;
    this.lastAckedId = this.latestReceivedId;
    return this.lastAckedId;
  }
}

const EMPTY = Buffer.alloc(0);
