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
