import { ChildProcess, spawn } from 'child_process';
import cluster, { Worker } from 'cluster';
import { randomBytes } from 'crypto';
import { createServer } from 'net';
import { availableParallelism } from 'os';
import { join } from 'path';
import type { Readable } from 'stream';
import { portFromEnv, PortError } from './port.js';
import { workersFromEnv, WorkersError } from './cluster-workers.js';

/**
 * `npm run start:cluster`: the sample in WORKERS processes (default: one per core) on the one port
 * PORT (default 3000), with Node's `cluster` module: this primary process forks the workers, accepts
 * every TCP connection and hands them out in turn (round robin), and the workers share hubs, orders
 * and presence through one Redis. REDIS_URL picks that Redis; without it a private `redis-server` is
 * started on a free port (no persistence) and stopped after the workers, so nothing else needs to run.
 *
 * Consecutive connections land on different workers, so negotiate and the requests that follow it
 * may not meet: the workers share a connection token secret, so a transport starts on whichever
 * worker it reaches, and the later requests of Server-Sent Events and Long Polling are carried over
 * Redis to the worker that holds the connection. A stateful re-attach is not (the page turns it off here).
 *
 * SIGTERM or SIGINT stops the workers (each closes its connections and leaves Redis), then the
 * private Redis. A worker that dies while serving is replaced. One that ends before it listens (a port
 * in use, say), or the private Redis ending, stops the rest, and the command exits with 1.
 */
let stopping = false;
let redis: ChildProcess | null = null;
const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Copies a child's output line by line with a label, so the workers' logs stay apart. */
function prefixLines(label: string, streams: Array<Readable | null>): void {
  for (const stream of streams) {
    let pending = '';
    stream?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) process.stdout.write(`[${label}] ${line}\n`);
    });
  }
}

/** Something that should run until asked to stop has ended: the cluster has failed. */
function ended(label: string, code: number | null, signal: string | null): void {
  process.stdout.write(`[${label}] exited (${signal ?? code})\n`);
  if (!stopping) process.exitCode = 1;
  stop();
}

async function privateRedis(): Promise<string> {
  const port = await freePort();
  // A process group of its own: Ctrl+C in a terminal signals the whole foreground group, and Redis
  // must outlive the workers, which leave it as they stop.
  const server = (redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  }));
  prefixLines('redis', [server.stdout, server.stderr]);
  server.on('exit', (code, signal) => ended('redis', code, signal));
  await new Promise<void>((resolve, reject) => {
    server.once('error', () => reject(new Error('redis-server was not found: install it (apt-get install redis-server) or set REDIS_URL')));
    server.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('Ready to accept connections') && resolve());
  });
  return `redis://127.0.0.1:${port}`;
}

/** Stops the workers (each closes its connections and leaves Redis), then the private Redis. */
function stop(): void {
  if (stopping) return;
  stopping = true;
  const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
  let left = workers.length;
  const stopRedis = () => redis !== null && running(redis) && redis.kill('SIGTERM');
  if (left === 0) stopRedis();
  for (const worker of workers) {
    worker.once('exit', () => --left === 0 && stopRedis());
    // Not worker.disconnect(): that closes the server but not the app, whose shutdown hooks close the
    // SignalR connections and leave Redis.
    worker.process.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const port = portFromEnv();
  const count = workersFromEnv(process.env.WORKERS, availableParallelism());
  const redisUrl = process.env.REDIS_URL || (await privateRedis());
  // Compiled, main.js next to this file; run from the TypeScript sources (as the tests do), main.ts
  // with the same loader flags (cluster passes process.execArgv on).
  cluster.setupPrimary({ exec: join(__dirname, __filename.endsWith('.ts') ? 'main.ts' : 'main.js'), silent: true });
  // One signing secret for all, so a token from one worker's login also works on the others.
  const jwtSecret = process.env.JWT_SECRET || randomBytes(32).toString('hex');
  // One connection token secret for all, so a WebSocket may reach another worker than its negotiate.
  const tokenSecret = process.env.SIGNALR_TOKEN_SECRET || randomBytes(32).toString('hex');
  let listening = 0;
  const start = (index: number) => {
    const worker = cluster.fork({
      PORT: String(port),
      REDIS_URL: redisUrl,
      JWT_SECRET: jwtSecret,
      SIGNALR_TOKEN_SECRET: tokenSecret,
      SAMPLE_CLUSTER_WORKER: String(index),
    });
    const label = `worker ${index}`;
    let serving = false;
    prefixLines(label, [worker.process.stdout, worker.process.stderr]);
    worker.on('exit', (code, signal) => {
      if (stopping || !serving) return ended(label, code, signal);
      // It died while serving: its clients lost their connections and reconnect to whichever worker
      // they reach. A replacement takes its place; one that never got to listen would only fail again.
      process.stdout.write(`[${label}] exited (${signal ?? code}) while serving: starting another\n`);
      start(index);
    });
    worker.once('listening', (address) => {
      serving = true;
      if (++listening > count) process.stdout.write(`[${label}] replaced, listening on ${address.port}\n`);
      else if (listening === count && !stopping)
        process.stdout.write(
          `${count} worker(s) on http://localhost:${address.port}/ sharing ${redisUrl}; clients connect with any transport, no affinity needed\n`,
        );
    });
  };
  for (let index = 1; index <= count; index++) start(index);
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);
main().catch((error: unknown) => {
  console.error(error instanceof PortError || error instanceof WorkersError ? error.message : error);
  stop();
  process.exitCode = 1;
});
