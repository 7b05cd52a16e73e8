import { ChildProcess, spawn } from 'child_process';
import { request } from 'http';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');
const REGISTER = join(ROOT, 'test', 'support', 'ts-register.js');

/** `npm run start:cluster` running from the TypeScript sources, and what it printed so far. */
export interface SampleCluster {
  readonly port: number;
  /** Every line of its output (the workers' and Redis's, labelled). */
  readonly lines: string[];
  /** Resolves when it exits (after `stop()`, or on its own). */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly process: ChildProcess;
  /** The first output line from now on that matches `pattern`. */
  nextLine(pattern: RegExp): Promise<RegExpExecArray>;
  /** The process id of worker `index`, from its latest Nest log line. */
  pidOf(index: string): number;
  /** SIGTERM to the primary, as a process manager stops it; resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Starts `npm run start:cluster` as a user does (no REDIS_URL: it starts its private redis-server) with
 * `workers` workers on a free port, and resolves once every worker listens.
 */
export async function startSampleCluster(workers: number): Promise<SampleCluster> {
  const child = spawn(process.execPath, ['-r', REGISTER, join(ROOT, 'sample', 'cluster.ts')], {
    env: { ...process.env, NO_COLOR: '1', PORT: '0', WORKERS: String(workers), REDIS_URL: '', JWT_SECRET: '', SIGNALR_TOKEN_SECRET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiting = new Set<() => void>();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const split = pending.split('\n');
    pending = split.pop()!;
    lines.push(...split);
    for (const check of [...waiting]) check();
  });
  const nextLine = (pattern: RegExp, from = lines.length) =>
    new Promise<RegExpExecArray>((resolve) => {
      const check = () => {
        for (const line of lines.slice(from)) {
          const match = pattern.exec(line);
          if (match) {
            waiting.delete(check);
            return resolve(match);
          }
        }
      };
      waiting.add(check);
      check();
    });
  const ready = nextLine(new RegExp(`^${workers} worker\\(s\\) on http://localhost:(\\d+)/ `), 0);
  const port = await Promise.race([
    ready.then((match) => Number(match[1])),
    exit.then((ended) => Promise.reject(new Error(`start:cluster ended before it was ready: ${JSON.stringify(ended)}\n${lines.join('\n')}`))),
  ]);
  return {
    port,
    lines,
    exit,
    process: child,
    nextLine: (pattern) => nextLine(pattern),
    pidOf: (index) =>
      Number(
        [...lines]
          .reverse()
          .find((line) => line.startsWith(`[worker ${index}] [Nest] `))!
          .split(/\s+/)[3],
      ),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exit;
    },
  };
}

/** One HTTP request on a TCP connection of its own (no keep-alive pool): each one is a new accept. */
export function requestOnce(port: number, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: { connection: 'close' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body }));
    });
    req.on('error', reject).end(body);
  });
}

/** The worker that served the sample page, as the page names it (data-cluster-worker). */
export async function pageWorker(port: number): Promise<string> {
  const { body } = await requestOnce(port, 'GET', '/');
  return /data-cluster-worker="(\d*)"/.exec(body)![1];
}
