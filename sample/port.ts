/** The default port of `npm start` (and of the first instance of `npm run start:cluster`). */
export const DEFAULT_PORT = 3000;

/**
 * PORT as a TCP port number (0 to 65535; 0 picks a free one), DEFAULT_PORT when it is unset or empty.
 * Anything else is refused: Node's `listen()` takes a string that is not a number for the path of a
 * Unix socket, and would quietly create that file in the current folder.
 */
export function portFromEnv(value = process.env.PORT): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port <= 65535)) throw new PortError(`PORT must be a port number from 0 to 65535, not '${value}'.`);
  return port;
}

/** A refused PORT: its message is all the user needs to read (no stack). */
export class PortError extends Error {}
