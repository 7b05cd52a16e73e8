/**
 * Inbound backpressure for the HTTP transports, whose client sends by POST: while the connection's
 * queue of parsed messages is full, the POST being read stops reading its body and stays unanswered,
 * so the client's next send waits instead of the server's memory growing (a WebSocket pauses its
 * socket instead). Polls and event streams are other requests, so they keep being answered.
 */
export class ReadGate {
  private paused = false;
  /** Ended for good (the transport is over): nothing waits any more. */
  private ended = false;
  /** At most one POST reads at a time per connection, so this is nearly always one waiter. */
  private waiters: Array<() => void> | null = null;

  pause(): void {
    if (!this.ended) this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake();
  }

  /** The transport ended: a POST that waits is let go (its bytes are dropped by the closed connection). */
  end(): void {
    this.ended = true;
    this.resume();
  }

  /** Null while reading may go on; otherwise resolves once the connection reads again or the transport ended. */
  wait(): Promise<void> | null {
    if (!this.paused) return null;
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    if (waiters === null) return;
    this.waiters = null;
    for (const wake of waiters) wake();
  }
}
