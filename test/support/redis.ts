import { ChildProcess, spawn } from 'child_process';
import { exited, startOnFreePort } from './processes.js';

/**
 * A private `redis-server` on a free port (never the shared 6379), without persistence, for one test
 * file. `stop()` kills it like a crash (SIGKILL), `start()` brings it back on the same port with an
 * empty dataset, `close()` ends it for good.
 */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Starts `redis-server` on `port` (no persistence, plus `extraArgs`) and resolves once it accepts connections. */
export function launch(port: number, extraArgs: string[] = []): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.resume();
    child.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited with ${code} before it was ready:\n${output}`)));
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error('redis-server is not installed: apt-get install redis-server (.ci/run installs it)') : error),
    );
  });
}

/** Starts a private redis-server on a free port and waits until it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  const { port, started } = await startOnFreePort((port) => launch(port));
  let current: ChildProcess | null = started;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return current !== null;
    },
    async start() {
      if (current === null) current = await launch(port);
    },
    async stop() {
      const running = current;
      current = null;
      if (running === null) return;
      running.kill('SIGKILL');
      await exited(running);
    },
    async restart() {
      await server.stop();
      await server.start();
    },
    close: () => server.stop(),
  };
  return server;
}

/** One app instance of test/fixtures/redis-cluster.app.js, in a process of its own. */
export interface ClusterInstance {
  readonly port: number;
  /** Its process id: what ClusterHub's `WhereAmI` answers, telling which instance holds a connection made through a proxy. */
  readonly pid: number;
  url(path: string): string;
  /** Lines the instance printed as `log <level> <context>: <message>`, without the `log ` prefix. */
  readonly logs: string[];
  /** SIGTERM: Nest's graceful shutdown; resolves when the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL: the instance dies without a word. */
  kill(): Promise<void>;
  /** SIGSTOP: the instance hangs (its sockets and Redis subscriptions stay open, nothing answers) until `resume()`. */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  resume(): void;
}

const running = new Set<ChildProcess>();

/** Starts a cluster instance on a free port using the Redis at `redisUrl`; resolves once it listens. */
export function startInstance(redisUrl: string, env: Record<string, string> = {}): Promise<ClusterInstance> {
  return spawnInstance('redis-cluster.app.js', redisUrl, env);
}

/**
 * Starts the sample app (test/fixtures/sample-cluster.app.js) on a free port using the Redis at
 * `redisUrl`, signing tokens with `jwtSecret` (instances of one cluster must share it).
 */
export function startSampleInstance(redisUrl: string, jwtSecret: string): Promise<ClusterInstance> {
  return spawnInstance('sample-cluster.app.js', redisUrl, { JWT_SECRET: jwtSecret });
}

/** Runs test/fixtures/`fixture` in a child process; resolves once it printed `listening <port>`. */
function spawnInstance(fixture: string, redisUrl: string, env: Record<string, string>): Promise<ClusterInstance> {
  const script = require('path').join(__dirname, '..', 'fixtures', fixture);
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, REDIS_URL: redisUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const logs: string[] = [];
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  return new Promise((resolve, reject) => {
    let pending = '';
    child.once('exit', (code) => reject(new Error(`${fixture} exited with ${code} before listening:\n${errors}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith('log ')) logs.push(line.slice(4));
        const listening = /^listening (\d+)$/.exec(line);
        if (listening) {
          const port = Number(listening[1]);
          const signal = async (name: NodeJS.Signals) => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill(name);
            await exited(child);
          };
          resolve({
            port,
            pid: child.pid!,
            url: (path) => `http://127.0.0.1:${port}${path}`,
            logs,
            stop: () => signal('SIGTERM'),
            kill: () => signal('SIGKILL'),
            freeze: () => child.kill('SIGSTOP'),
            resume: () => child.kill('SIGCONT'),
          });
        }
      }
    });
  });
}

/** Kills every instance still running (for afterAll). */
export async function killInstances(): Promise<void> {
  await Promise.all(
    [...running].map((child) => {
      child.kill('SIGKILL');
      return exited(child);
    }),
  );
}
