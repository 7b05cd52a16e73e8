import { now } from '../support/clock.js';

/**
 * A connection's request send times in order: every contender answers a connection's requests in
 * order, so replies give round-trip times without ids. A request may be answered by several replies
 * (a frame carrying that many invocations); its round trip then ends with the last of them.
 */
export class RequestClock {
  private readonly sentAt: number[] = [];
  private head = 0;
  private repliesPerRequest = 1;
  private repliesLeft = 1;

  sent(): void {
    this.sentAt.push(now());
  }

  /** A reply arrived: the round trip (ms) of the request it completes, or null while that request waits for more. */
  replied(): number | null {
    if (--this.repliesLeft > 0) return null;
    this.repliesLeft = this.repliesPerRequest;
    const sentAt = this.head < this.sentAt.length ? this.sentAt[this.head++] : NaN;
    if (this.head === this.sentAt.length) this.sentAt.length = this.head = 0;
    return now() - sentAt;
  }

  /** From now on each request is answered by `replies` replies. */
  answeredBy(replies: number): void {
    this.repliesPerRequest = this.repliesLeft = replies;
  }

  get outstanding(): number {
    return this.sentAt.length - this.head;
  }
}
