/**
 * WORKERS as the number of worker processes of `npm run start:cluster`: a whole number from 1 to 256,
 * `fallback` (one per core) when it is unset or empty. Anything else is refused before anything starts.
 */
export function workersFromEnv(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const count = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(count >= 1 && count <= 256)) throw new WorkersError(`WORKERS must be a number of processes from 1 to 256, not '${value}'.`);
  return count;
}

/** A refused WORKERS: its message is all the user needs to read (no stack). */
export class WorkersError extends Error {}
