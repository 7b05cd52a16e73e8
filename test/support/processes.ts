import type { ChildProcess } from 'child_process';
import { createServer } from 'net';

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server on a free port. Another process may take the port between the probe and the
 * start, so a start that fails with `taken(error)` is tried again on another port (a few times);
 * any other failure is final.
 */
export async function startOnFreePort<T>(
  start: (port: number) => Promise<T>,
  taken: (error: unknown) => boolean = () => true,
): Promise<{ port: number; started: T }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return { port, started: await start(port) };
    } catch (error) {
      if (attempt >= 3 || !taken(error)) throw error;
    }
  }
}

/** Resolves once `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
