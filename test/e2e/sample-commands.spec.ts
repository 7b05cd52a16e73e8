import { spawn } from 'child_process';
import { mkdtempSync, readdirSync, rmSync } from 'fs';
import { createServer, Server } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { RedisServer, startRedis } from '../support/redis.js';

const ROOT = join(__dirname, '..', '..');
const REGISTER = join(ROOT, 'test', 'support', 'ts-register.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `sample/<script>` as `npm start` / `npm run start:cluster` run it, from the TypeScript sources
 * (test/support/ts-register.js instead of a build), in `cwd`, and resolves when it exits. A command
 * that does not end in time (the failure these tests look for) is killed and reported as it was.
 */
function runSample(script: 'main.ts' | 'cluster.ts', env: Record<string, string>, cwd = ROOT): Promise<Exit> {
  const child = spawn(process.execPath, ['-r', REGISTER, join(ROOT, 'sample', script)], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const limit = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

/** Holds a port on every interface (as the sample listens), so that the sample cannot have it. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('the sample started as a user starts it', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'sample-cwd-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it.each(['abc', '-1', '3002x', '65536', ' 3000'])("`PORT='%s' npm start` refuses the port: exit code 1, one line, no socket file", async (port) => {
    const exit = await runSample('main.ts', { PORT: port }, folder);
    expect(exit).toEqual({ code: 1, signal: null, stdout: '', stderr: `PORT must be a port number from 0 to 65535, not '${port}'.\n` });
    // Node's listen() takes a string that is not a number for a Unix socket's path, in the current folder.
    expect(readdirSync(folder)).toEqual([]);
  });

  it('`npm start` on a port in use says so and exits with 1', async () => {
    const held = await holdPort();
    try {
      const exit = await runSample('main.ts', { PORT: String(held.port) }, folder);
      expect(exit.code).toBe(1);
      expect(exit.stderr.trimEnd().split('\n').at(-1)).toBe(`Port ${held.port} is already in use: stop what listens there or set PORT to another port.`);
    } finally {
      held.server.close();
    }
  });
});

describe('npm run start:cluster', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.close());

  it('fails with exit code 1 when the workers cannot start (their port is in use), and stops the rest', async () => {
    const held = await holdPort();
    try {
      const exit = await runSample('cluster.ts', { PORT: String(held.port), WORKERS: '2', REDIS_URL: redis.url });
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
      const lines = exit.stdout.split('\n');
      const inUse = `Port ${held.port} is already in use: stop what listens there or set PORT to another port.`;
      // The first worker to fail says why and ends the cluster; the other failed alike or was stopped.
      const failed = lines.find((line) => /^\[worker \d\] exited \(1\)$/.test(line))!;
      const label = failed.slice(0, failed.indexOf(']') + 1);
      expect(lines).toContain(`${label} ${inUse}`);
      // Both workers are gone when the command ends.
      const ends = lines.filter((line) => /^\[worker \d\] exited \((0|1|SIGTERM)\)$/.test(line));
      expect(ends.map((line) => line.slice(0, 10)).sort()).toEqual(['[worker 1]', '[worker 2]']);
      expect(lines.filter((line) => line.includes(' worker(s) on '))).toEqual([]);
    } finally {
      held.server.close();
    }
  });

  it("refuses `PORT='abc'` before starting anything", async () => {
    const exit = await runSample('cluster.ts', { PORT: 'abc', REDIS_URL: redis.url });
    expect(exit).toEqual({ code: 1, signal: null, stdout: '', stderr: "PORT must be a port number from 0 to 65535, not 'abc'.\n" });
  });

  it.each(['0', '-1', 'two', '257', ' 2'])("refuses `WORKERS='%s'` before starting anything", async (workers) => {
    const exit = await runSample('cluster.ts', { WORKERS: workers, REDIS_URL: redis.url });
    expect(exit).toEqual({ code: 1, signal: null, stdout: '', stderr: `WORKERS must be a number of processes from 1 to 256, not '${workers}'.\n` });
  });
});
