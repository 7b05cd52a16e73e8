import * as fs from 'fs';
import * as path from 'path';
import type { ProtocolName } from '../load/wire-protocols.js';
import { Child, cpuCount } from '../support/ipc.js';
import { median } from '../support/recorder.js';
import { RedisServer } from '../support/redis-server.js';
import { cpuMsBetween, format, SERVER_CPU, Suite } from '../support/suite.js';
import { hasRedisBackplane } from './cluster.js';

const CLUSTER_SERVER = path.join(__dirname, '..', 'servers', 'signalr-cluster-server.ts');

/**
 * Workload 8: the echo benchmark against nestjs-signalr in 1 and then 2 worker processes of Node's
 * `cluster` module on one port (as `npm run start:cluster` runs it), one Redis for both runs. The
 * generator connects without negotiate (WebSockets, as a client of the cluster must today) and the
 * primary hands the connections to the workers in turn. The 1-worker server is pinned to core 1;
 * the 2-worker one may use both cores, where the generator (pinned to core 0) also runs, so the
 * generator's own CPU per call is reported: the throughput ratio can only reach 2 if it is small.
 * "CPU-bound ratio" is what two workers would reach with a core each for themselves: 2 × (server CPU
 * per call with 1 worker) ÷ (server CPU per call with 2).
 */
export async function workers(suite: Suite): Promise<void> {
  const { full, smoke } = suite.options;
  const cases = echoCases(smoke, suite.options.connections);
  const durationMs = smoke ? 100 : full ? 10_000 : 3000;
  const contenders: ProtocolName[] = hasRedisBackplane() ? ['signalr-json', 'signalr-msgpack'] : [];
  const table = suite.table('workers', 'Echo on 1 and 2 workers of the cluster module (one port, one Redis; 32 B calls, closed loop)', [
    { key: 'rate', label: 'calls/s', digits: 0 },
    { key: 'cpuUs', label: 'server CPU µs/call (primary + workers)', digits: 2 },
    { key: 'cores', label: 'server cores busy', digits: 2 },
    { key: 'genUs', label: 'generator CPU µs/call', digits: 2 },
    { key: 'gen', label: 'generator CPU % of a core', digits: 0 },
    { key: 'others', label: 'other processes, cores busy', digits: 2 },
    { key: 'p50', label: 'p50 ms', digits: 2 },
    { key: 'p99', label: 'p99 ms', digits: 2 },
    { key: 'conns', label: "busiest worker's share of connections %", digits: 0 },
    { key: 'split', label: "busiest worker's share of worker CPU %", digits: 0 },
  ]);
  if (contenders.length === 0) table.notes.push('Skipped: this tree has no src/redis/index.ts (nestjs-signalr/redis) yet.');
  const measured = new Map<string, { rate: number[]; cpuUs: number[]; others: number[] }>();
  for (const contender of suite.runs(contenders)) {
    const redis = new RedisServer();
    await redis.start();
    try {
      for (const count of [1, 2]) {
        // One worker keeps the server's core to itself; two may use both (the OS places them).
        const cpu = count === 1 ? SERVER_CPU : undefined;
        const extra = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
        const server = new Child(CLUSTER_SERVER, [], { cpu, nodeArgs: ['--expose-gc', ...extra], env: { REDIS_URL: redis.url, BENCH_WORKERS: String(count) } });
        try {
          const { port } = await server.ready;
          // One at a time: the primary then hands them to the workers strictly in turn, so the first
          // N clients of every case are split evenly.
          await suite.generator.call('connect', { port, protocol: contender.name, count: Math.max(...cases.map((c) => c.clients)), concurrency: 1 });
          for (const echoCase of cases) {
            await server.call('gc');
            const before = await server.call('stats');
            const machineBefore = machineBusyMs();
            const got = await suite.generator.call('echo', { ...echoCase, durationMs, size: 32, rate: 0 });
            const machineAfter = machineBusyMs();
            const after = await server.call('stats');
            const perWorker = after.workers.map((stats: { cpu: NodeJS.CpuUsage }, i: number) => cpuMsBetween(before.workers[i], stats));
            const rate = got.completed / (got.ms / 1000);
            const cpuUs = (cpuMsBetween(before, after) * 1000) / got.calls;
            const others = (machineAfter - machineBefore - cpuMsBetween(before, after)) / got.wallMs - got.generatorCpu;
            const caseName = `${echoCase.name}, ${count} worker(s)`;
            suite.record(table, caseName, contender.name, {
              rate,
              cpuUs,
              // What the server obtained: under other load on the machine, less than the cores it may use.
              cores: cpuMsBetween(before, after) / got.wallMs,
              genUs: (got.generatorCpu * 1e6) / rate,
              gen: 100 * got.generatorCpu,
              // Everything else the machine ran meanwhile (other users, the orchestrator, Redis): taken from the server.
              others,
              p50: got.latency.p50,
              p99: got.latency.p99,
              // How evenly round robin spread the connections and the work (50 is even with two workers).
              conns: (100 * Math.max(...after.workers.map((stats: { connections: number }) => stats.connections))) / after.connections,
              split: (100 * Math.max(...perWorker)) / perWorker.reduce((a: number, b: number) => a + b, 0),
            });
            const key = `${contender.name}|${echoCase.name}|${count}`;
            const entry = measured.get(key) ?? { rate: [], cpuUs: [], others: [] };
            entry.rate.push(rate);
            entry.cpuUs.push(cpuUs);
            entry.others.push(others);
            measured.set(key, entry);
          }
        } finally {
          await suite.generator.call('closeAll').catch(() => undefined);
          await server.stop();
        }
      }
    } finally {
      await redis.stop();
    }
  }
  for (const name of contenders) {
    for (const { name: caseName } of cases) {
      const one = measured.get(`${name}|${caseName}|1`);
      const two = measured.get(`${name}|${caseName}|2`);
      if (one === undefined || two === undefined) continue;
      const line = `${name}, ${caseName}: 2 workers ÷ 1 worker = ${format(median(two.rate) / median(one.rate), 2)}× calls/s; CPU-bound ratio ${format((2 * median(one.cpuUs)) / median(two.cpuUs), 2)}× (server CPU per call ${format(median(one.cpuUs), 2)} → ${format(median(two.cpuUs), 2)} µs)`;
      table.notes.push(line);
      console.log(`  [workers] ${line}`);
      // Each repetition runs 1 then 2 workers: a pair in which nothing else ran shows what the cores give.
      const quiet = one.rate.map((_, i) => i).filter((i) => one.others[i] < QUIET_CORES && two.others[i] < QUIET_CORES);
      const ratios = quiet.map((i) => two.rate[i] / one.rate[i]);
      const quietLine = `${name}, ${caseName}: ${quiet.length} of ${one.rate.length} repetitions had other processes below ${QUIET_CORES} core busy in both runs${
        quiet.length > 0
          ? `; their 2 ÷ 1 worker calls/s ratio: median ${format(median(ratios), 2)}× (${ratios.map((ratio) => format(ratio, 2)).join(', ')})`
          : ''
      }`;
      table.notes.push(quietLine);
      console.log(`  [workers] ${quietLine}`);
    }
  }
  table.notes.push(
    `${cpuCount()} core(s). 1 worker: the server (primary and worker) pinned to core ${SERVER_CPU}, the generator to core 0. 2 workers: the server on every core, sharing core 0 with the generator. Goal (issue 18): 2 workers ≥ 1.6× one worker's calls/s.`,
  );
}

/** Other processes' CPU (cores busy) below which a run counts as undisturbed. */
const QUIET_CORES = 0.1;

/** CPU time (ms) every core of the machine has been busy so far, from /proc/stat (NaN where there is none). */
function machineBusyMs(): number {
  try {
    const [user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
    // All but idle and iowait, in clock ticks (100 a second).
    return (user + nice + system + irq + softirq + steal) * 10;
  } catch {
    return NaN;
  }
}

interface EchoCase {
  name: string;
  clients: number;
  /** Frames each client keeps outstanding. */
  depth: number;
  /** Invocations per frame. */
  batch: number;
}

function echoCase(clients: number, depth: number, batch: number): EchoCase {
  const name = batch === 1 && depth === 1 ? `${clients} clients, 1 call per frame` : `${clients} clients × ${depth} frames × ${batch} calls`;
  return { name, clients, depth, batch };
}

/**
 * One call per frame and client (the generator pays a frame, a send and a read per call: as much as
 * a worker does, so it takes the second core's share from two workers), then calls batched many to a
 * frame from fewer clients, which leaves the generator a small fraction of its core.
 * BENCH_WORKERS_CASES=clients:depth:batch,... replaces them, e.g. `100:1:1,8:2:250`.
 */
function echoCases(smoke: boolean, connections: number | undefined): EchoCase[] {
  const custom = process.env.BENCH_WORKERS_CASES;
  if (custom) return custom.split(',').map((spec) => echoCase(...(spec.split(':').map(Number) as [number, number, number])));
  if (smoke) return [echoCase(4, 1, 1), echoCase(4, 2, 5)];
  return [echoCase(connections ?? 100, 1, 1), echoCase(8, 2, 250)];
}
