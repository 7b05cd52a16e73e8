/**
 * Waits for a state the server reaches asynchronously (e.g. after it sees a socket close), checking
 * on every turn of the event loop rather than sleeping a fixed time.
 */
export async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Polls `read` until it returns `expected` (compared as JSON) or the deadline passes, then returns the last value. */
export async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = await read();
  }
  return last;
}

/**
 * Lets a reader wait for what arrives asynchronously (a frame, a chunk, a stream's end) without
 * sleeping: it checks its state, awaits `next()` if it must wait, and checks again once woken.
 */
export class Wakeup {
  private waiters: Array<() => void> = [];

  /** Resolves at the next `wake()`. */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Something arrived: every waiter checks again. */
  wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
