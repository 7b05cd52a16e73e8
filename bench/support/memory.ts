import { sleep } from './clock.js';

/** The process's memory after three forced collections (the server runs with --expose-gc), 50 ms apart. */
export async function collectGarbage(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(50);
  }
  return process.memoryUsage();
}
