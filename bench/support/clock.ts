/**
 * Milliseconds since the epoch with sub-millisecond resolution, comparable across processes on one
 * machine (each process's timeOrigin is read from the same wall clock), so a timestamp written by the
 * server into a payload can be subtracted from the generator's clock on receipt.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
