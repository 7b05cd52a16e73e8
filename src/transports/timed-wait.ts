/**
 * One wait at a time for a wake-up, given up after a timeout: how carrying waits on a peer over
 * Redis (the owner's next reply, the asker's next chunk), which may go silent at any time.
 */
export class TimedWait<T> {
  private wake: ((value: T) => void) | null = null;

  /** Resolves with the value it is woken with, or with `expired` once `timeout` ms passed. */
  wait(timeout: number, expired: T): Promise<T> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wakeUp(expired), timeout);
      this.wake = (value) => {
        clearTimeout(timer);
        resolve(value);
      };
    });
  }

  /** Wakes the wait with `value`; false when nothing waits (the caller may keep the value for later). */
  wakeUp(value: T): boolean {
    const wake = this.wake;
    if (wake === null) return false;
    this.wake = null;
    wake(value);
    return true;
  }
}
