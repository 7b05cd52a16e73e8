/*
 * Keeps every benchmark script runnable: the suite runs at tiny sizes (--smoke) and its JSON output is
 * checked for shape and delivery counts. No timing is asserted; the figures are meaningless at this size.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hasRedisBackplane } from '../../bench/workloads/cluster.js';

const ROOT = path.resolve(__dirname, '..', '..');

type Figures = Record<string, number>;
interface Table {
  workload: string;
  cases: Record<string, Record<string, Figures>>;
}

/** Runs bench/run.sh with --smoke and returns its tables. */
async function runBench(args: string[]): Promise<Table[]> {
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-')), 'out.json');
  const child = spawn('bash', [path.join(ROOT, 'bench', 'run.sh'), ...args, '--smoke', '--json', json], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`bench/run.sh ${args.join(' ')} exited with ${code}:\n${output}`);
  return JSON.parse(fs.readFileSync(json, 'utf8')) as Table[];
}

function table(tables: Table[], workload: string): Table {
  const found = tables.find((candidate) => candidate.workload === workload);
  if (found === undefined) throw new Error(`no ${workload} table`);
  return found;
}

function contendersOf(t: Table): string[][] {
  return Object.values(t.cases).map((row) => Object.keys(row).sort());
}

describe('benchmark suite (smoke sizes)', () => {
  const resultsFile = path.join(ROOT, 'bench', 'RESULTS.md');
  const resultsBefore = fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : null;

  afterAll(() => {
    // Smoke runs never append to the results file.
    expect(fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : null).toBe(resultsBefore);
  });

  it('broadcasts to every contender and each connection receives every message', async () => {
    const tables = await runBench(['broadcast']);
    expect(tables.map((t) => t.workload)).toEqual(['broadcast']);
    const broadcast = table(tables, 'broadcast');
    expect(Object.keys(broadcast.cases)).toEqual(['20 conns, 64 B, burst', '20 conns, 64 B, steady 2k msg/s']);
    expect(contendersOf(broadcast)).toEqual([
      ['nest-ws', 'raw-ws', 'signalr-json', 'signalr-msgpack', 'socketio'],
      ['nest-ws', 'raw-ws', 'signalr-json', 'signalr-msgpack', 'socketio'],
    ]);
    for (const row of Object.values(broadcast.cases)) {
      for (const figures of Object.values(row)) {
        expect(figures.lost).toBe(0);
        expect(Number.isFinite(figures.p50)).toBe(true);
        expect(Number.isFinite(figures.cpuUs)).toBe(true);
      }
    }
  }, 60_000);

  it('runs the telemetry workload: the server with the OpenTelemetry SDK exports a span per echo call, without it none', async () => {
    const tables = await runBench(['telemetry']);
    const telemetry = table(tables, 'telemetry');
    expect(Object.keys(telemetry.cases)).toEqual(['broadcast, telemetry off', 'echo, telemetry off', 'broadcast, telemetry on', 'echo, telemetry on']);
    const spans = (caseName: string) => telemetry.cases[caseName]['signalr-json'].spans;
    expect([spans('broadcast, telemetry off'), spans('echo, telemetry off'), spans('broadcast, telemetry on')]).toEqual([0, 0, 0]);
    expect(spans('echo, telemetry on')).toBeGreaterThan(0);
    for (const row of Object.values(telemetry.cases)) expect(Number.isFinite(row['signalr-json'].cpuUs)).toBe(true);
  }, 60_000);

  it('runs the echo, groups, memory, churn, cluster and slow-consumer workloads', async () => {
    const tables = await runBench(['echo', 'groups', 'memory', 'churn', 'cluster', 'slow', '--only', 'signalr-json,socketio']);
    expect(tables.map((t) => t.workload)).toEqual(['echo', 'groups', 'memory', 'churn', 'cluster', 'slow']);
    const both = ['signalr-json', 'socketio'];

    const echo = table(tables, 'echo');
    expect(Object.keys(echo.cases)).toEqual(['1 client(s), closed loop', '5 client(s), closed loop', '5 clients, open loop at ½ own ceiling']);
    for (const row of Object.values(echo.cases)) {
      expect(Object.keys(row).sort()).toEqual(both);
      for (const figures of Object.values(row)) expect(Number.isFinite(figures.p99)).toBe(true);
    }

    for (const row of Object.values(table(tables, 'groups').cases)) {
      expect(Object.keys(row).sort()).toEqual(both);
      for (const figures of Object.values(row)) expect(figures.lost).toBe(0);
    }

    const memory = table(tables, 'memory').cases['20 connections'];
    expect(Object.keys(memory).sort()).toEqual(both);
    for (const figures of Object.values(memory)) expect(Number.isFinite(figures.heap)).toBe(true);

    const churn = table(tables, 'churn').cases['2 in flight'];
    expect(Object.keys(churn).sort()).toEqual(both);
    for (const figures of Object.values(churn)) expect(figures.errors).toBe(0);

    const cluster = table(tables, 'cluster');
    expect(Object.keys(cluster.cases)).toEqual(['1 instance, no Redis, steady 2k msg/s', '2 instances, burst', '2 instances, steady 2k msg/s']);
    for (const [caseName, row] of Object.entries(cluster.cases)) {
      expect(Object.keys(row).sort()).toEqual(hasRedisBackplane() ? both : ['socketio']);
      for (const figures of Object.values(row)) {
        expect(figures.lost).toBe(0);
        // Exactly one PUBLISH per send across two instances; none without Redis.
        expect(figures.publishes).toBe(caseName.startsWith('2 instances') ? 1 : 0);
      }
    }

    const slow = table(tables, 'slow');
    expect(Object.keys(slow.cases)).toEqual(['no slow consumers', '2 slow consumers']);
    for (const row of Object.values(slow.cases)) {
      expect(Object.keys(row).sort()).toEqual(both);
      for (const figures of Object.values(row)) expect(figures.lost).toBe(0);
    }
  }, 90_000);

  it('runs the echo on 1 and then 2 workers of the cluster module, the load spread over both', async () => {
    const tables = await runBench(['workers']);
    const workers = table(tables, 'workers');
    expect(Object.keys(workers.cases)).toEqual([
      '4 clients, 1 call per frame, 1 worker(s)',
      '4 clients × 2 frames × 5 calls, 1 worker(s)',
      '4 clients, 1 call per frame, 2 worker(s)',
      '4 clients × 2 frames × 5 calls, 2 worker(s)',
    ]);
    for (const [caseName, row] of Object.entries(workers.cases)) {
      expect(Object.keys(row).sort()).toEqual(['signalr-json', 'signalr-msgpack']);
      for (const figures of Object.values(row)) {
        expect(figures.rate).toBeGreaterThan(0);
        expect(figures.gen).toBeGreaterThan(0);
        expect(Number.isFinite(figures.cpuUs) && Number.isFinite(figures.genUs)).toBe(true);
        // One worker does all the work; with two, round robin gave each of them some.
        if (caseName.endsWith('1 worker(s)'))
          expect(figures.split).toBeCloseTo(100, 6); // a share computed in floating point
        else expect(figures.split).toBeLessThan(100);
      }
    }
  }, 60_000);

  it('runs the echo through nginx, sticky and round robin, over WebSockets and Long Polling', async () => {
    const tables = await runBench(['proxy']);
    const proxy = table(tables, 'proxy');
    const modes = ['WebSockets, sticky', 'Long Polling, sticky', 'WebSockets, round robin', 'Long Polling, round robin'];
    expect(Object.keys(proxy.cases)).toEqual(modes.flatMap((mode) => [`${mode}, 1 client(s)`, `${mode}, 4 client(s)`]));
    for (const clients of [1, 4]) {
      const figures = (mode: string) => proxy.cases[`${mode}, ${clients} client(s)`]['signalr-json'];
      for (const mode of modes) {
        expect(figures(mode).failed).toBe(0);
        expect(figures(mode).rate).toBeGreaterThan(0);
      }
      // Sticky keeps every request of a connection on its instance; a WebSocket has one request, its upgrade.
      for (const mode of ['WebSockets, sticky', 'Long Polling, sticky', 'WebSockets, round robin']) expect(figures(mode).forwarded).toBe(0);
      expect(figures('WebSockets, sticky').requests).toBe(0);
      // A POST per call and the poll that brings its completion back.
      expect(figures('Long Polling, sticky').requests).toBeGreaterThanOrEqual(2);
      // Round robin: each Long Polling request reaches the instances in turn; those off the connection's
      // own are carried to it over Redis (a POST or a poll of each call).
      expect(figures('Long Polling, round robin').forwarded).toBeGreaterThan(0);
    }
  }, 60_000);
});
