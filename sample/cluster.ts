import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { createServer } from 'net';
import { join } from 'path';
import { portFromEnv, PortError } from './port.js';

/**
 * `npm run start:cluster`: two sample instances on PORT (default 3000) and PORT + 1, sharing hubs
 * through one Redis. REDIS_URL picks that Redis; without it a private `redis-server` is started on a
 * free port (no persistence) and stopped with the instances, so nothing else needs to run. Open one
 * tab on each port: a chat message sent on one reaches the other. If an instance (or the private Redis)
 * ends without being asked to, for instance because its port is taken, the other is stopped too and
 * the command exits with 1.
 */
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs a child with its output prefixed, so the two instances' logs stay apart. */
function run(label: string, command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) process.stdout.write(`[${label}] ${line}\n`);
    });
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(`[${label}] exited (${signal ?? code})\n`);
    // Nobody asked it to end: it failed (its port was taken, Redis went away...), and so did the cluster.
    if (!stopping) process.exitCode = 1;
    stop();
  });
  children.push(child);
  return child;
}

async function privateRedis(): Promise<string> {
  const port = await freePort();
  const server = (redis = run('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], process.env));
  await new Promise<void>((resolve, reject) => {
    server.once('error', () => reject(new Error('redis-server was not found: install it (apt-get install redis-server) or set REDIS_URL')));
    server.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('Ready to accept connections') && resolve());
  });
  return `redis://127.0.0.1:${port}`;
}

let stopping = false;
let redis: ChildProcess | null = null;
const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Stops the instances (each closes its connections and leaves Redis), then the private Redis. */
function stop(): void {
  if (stopping) return;
  stopping = true;
  const instances = children.filter((child) => child !== redis && running(child));
  let left = instances.length;
  const stopRedis = () => redis !== null && running(redis) && redis.kill('SIGTERM');
  if (left === 0) stopRedis();
  for (const child of instances) {
    child.once('exit', () => --left === 0 && stopRedis());
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const first = portFromEnv();
  if (first === 0 || first === 65535) throw new PortError(`PORT must be from 1 to 65534 for the cluster (it uses PORT and PORT + 1), not '${process.env.PORT}'.`);
  const redisUrl = process.env.REDIS_URL || (await privateRedis());
  // Compiled, main.js next to this file; run from the TypeScript sources (as the tests do), main.ts
  // with the same loader flags (process.execArgv).
  const main = join(__dirname, __filename.endsWith('.ts') ? 'main.ts' : 'main.js');
  // One signing secret for both, so a token from one instance's login also works on the other.
  const jwtSecret = process.env.JWT_SECRET || randomBytes(32).toString('hex');
  for (const [index, port] of [first, first + 1].entries()) {
    run(`instance ${index + 1} :${port}`, process.execPath, [...process.execArgv, main], { ...process.env, PORT: String(port), REDIS_URL: redisUrl, JWT_SECRET: jwtSecret });
  }
  process.stdout.write(`Two instances on http://localhost:${first}/ and http://localhost:${first + 1}/ sharing ${redisUrl}\n`);
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);
main().catch((error: unknown) => {
  console.error(error instanceof PortError ? error.message : error);
  stop();
  process.exitCode = 1;
});
