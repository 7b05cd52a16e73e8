import type { HubConnection } from './hub-connection.js';

/** How often shutdown re-checks whether a connection's invocations have finished. */
const DRAIN_CHECK_INTERVAL = 10;

/**
 * Resolves once `connection` runs no invocation, is closed, or `deadline` passes; true when it was
 * still busy. activeInvocations is a counter without an event (the connection loop keeps it), so it
 * is re-checked on a short timer.
 */
export async function invocationsDrained(connection: HubConnection, deadline: number): Promise<boolean> {
  while (connection.activeInvocations > 0 && connection.state !== 'closed' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(DRAIN_CHECK_INTERVAL, deadline - Date.now()))));
  }
  return connection.activeInvocations > 0 && connection.state !== 'closed';
}

/** Resolves when `work` has settled (false) or `timeout` ms passed first (true). */
export async function timedOut(work: Promise<unknown>, timeout: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeout, true)));
  const outcome = await Promise.race([work.then(() => false), expired]);
  clearTimeout(timer);
  return outcome;
}

/** Who waits for the end of which connection (shutdown awaits each onDisconnected). */
export class EndWaiters {
  private readonly waiters = new Map<HubConnection, Array<() => void>>();

  wait(connection: HubConnection): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiters.get(connection);
      if (waiters) waiters.push(resolve);
      else this.waiters.set(connection, [resolve]);
    });
  }

  /** The connection ended: its waiters resume. */
  release(connection: HubConnection): void {
    const waiters = this.waiters.get(connection);
    if (waiters === undefined) return;
    this.waiters.delete(connection);
    for (const resolve of waiters) resolve();
  }
}
