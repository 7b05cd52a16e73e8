import { randomBytes } from 'crypto';
import { startNginx, type NginxOptions, type NginxProxy, type ProxiedRequest } from '../../test/support/nginx.js';
import type { ProtocolName } from '../load/wire-protocols.js';
import { CONTENDERS } from '../support/contenders.js';
import { Child } from '../support/ipc.js';
import { median } from '../support/recorder.js';
import { RedisServer } from '../support/redis-server.js';
import { cpuMsBetween, format, GENERATOR_CPU, SERVER_CPU, Suite, WorkloadTable } from '../support/suite.js';
import { hasRedisBackplane } from './cluster.js';

type Balance = NonNullable<NginxOptions['balance']>;
type Transport = 'WebSockets' | 'Long Polling';

const BALANCES: Record<Balance, string> = { sticky: 'sticky', 'round-robin': 'round robin' };
const TRANSPORTS: Transport[] = ['WebSockets', 'Long Polling'];
const CONTENDER: ProtocolName = 'signalr-json';

interface Deployment {
  suite: Suite;
  table: WorkloadTable;
  redis: RedisServer;
  instances: Child[];
  proxy: NginxProxy;
  /** Closed-loop client counts: 1 gives the path's own latency, the larger count the cost under load. */
  clientCounts: number[];
  durationMs: number;
}

/** Failures the generator met, as "message ×count" (the proxy answers with the status the instance gave). */
function describeFailures(failures: Record<string, number>): string {
  return Object.entries(failures)
    .map(([message, count]) => `${message} ×${count}`)
    .join(', ');
}

/**
 * Requests of Long Polling connections that reached another instance than the one their connection
 * lives on (the one its first poll reached, which started it): those the instance reached must carry
 * over Redis to the owner. WebSocket connections have one request each (the upgrade), never forwarded.
 */
function forwardedRequests(log: ProxiedRequest[], from: number): { requests: number; forwarded: number } {
  const owners = new Map<string, number>();
  let forwarded = 0;
  for (let i = 0; i < log.length; i++) {
    const id = /[?&]id=([^&]+)/.exec(log[i].uri)?.[1];
    if (id === undefined) continue;
    const owner = owners.get(id);
    if (owner === undefined) owners.set(id, log[i].upstream);
    else if (i >= from && owner !== log[i].upstream) forwarded++;
  }
  return { requests: log.length - from, forwarded };
}

async function phase(deployment: Deployment, transport: Transport, balance: Balance): Promise<void> {
  const { suite, table, proxy, clientCounts } = deployment;
  const caseOf = (clients: number) => `${transport}, ${BALANCES[balance]}, ${clients} client(s)`;
  const clients = Math.max(...clientCounts);
  const generator = suite.generator;
  try {
    if (transport === 'WebSockets') {
      await generator.call('connect', { port: proxy.port, protocol: CONTENDER, count: clients, negotiate: true, concurrency: 10 });
    } else {
      const got = await generator.call('connectLongPolling', { port: proxy.port, protocol: CONTENDER, count: clients });
      if (got.failed > 0) {
        for (const count of clientCounts) suite.record(table, caseOf(count), CONTENDER, { failed: got.failed });
        const why =
          balance === 'round-robin' ? ': its requests reach both instances, and each must reach the one that holds the connection (carried over Redis)' : '';
        table.notes.push(`${transport}, ${BALANCES[balance]}: ${got.failed} of ${clients} connections did not open (${describeFailures(got.failures)})${why}.`);
        return;
      }
    }
    for (const count of clientCounts) await measure(deployment, caseOf(count), count);
  } finally {
    await generator.call('closeAll').catch(() => undefined);
  }
}

/** One closed-loop echo from the first `clients` connections, with every process's CPU and nginx's log around it. */
async function measure({ suite, table, redis, instances, proxy, durationMs }: Deployment, caseName: string, clients: number): Promise<void> {
  const generator = suite.generator;
  await Promise.all(instances.map((instance) => instance.call('gc')));
  const before = await Promise.all(instances.map((instance) => instance.call('stats')));
  const [redisBefore, proxyBefore, logBefore] = [redis.cpuMs(), await proxy.cpuMs(), (await proxy.requests()).length];
  const got = await generator.call('echo', { clients, durationMs, size: 32, rate: 0 });
  const after = await Promise.all(instances.map((instance) => instance.call('stats')));
  const [redisAfter, proxyAfter, log] = [redis.cpuMs(), await proxy.cpuMs(), await proxy.requests()];
  const { requests, forwarded } = forwardedRequests(log, logBefore);
  const perCall = (ms: number) => (ms * 1000) / got.calls;
  suite.record(table, caseName, CONTENDER, {
    rate: got.completed / (got.ms / 1000),
    cpuUs: perCall(cpuMsBetween(before[0], after[0]) + cpuMsBetween(before[1], after[1])),
    proxyUs: perCall(proxyAfter - proxyBefore),
    redisUs: perCall(redisAfter - redisBefore),
    p50: got.latency.p50,
    p99: got.latency.p99,
    requests: requests / got.calls,
    forwarded: forwarded / got.calls,
    conns: (100 * Math.max(after[0].connections, after[1].connections)) / (after[0].connections + after[1].connections),
    failed: got.failed,
  });
  if (got.failed > 0) table.notes.push(`${caseName}: ${got.failed} of ${clients} connections failed during the echo (${describeFailures(got.failures)}).`);
}

/** What the path without affinity costs: (round robin − sticky) per call and per forwarded request, from the medians. */
function costNotes(table: WorkloadTable, clientCounts: number[]): string[] {
  const lines: string[] = [];
  for (const [transport, clients] of TRANSPORTS.flatMap((transport) => clientCounts.map((clients) => [transport, clients] as const))) {
    const name = `${transport}, ${clients} client(s)`;
    const figures = (balance: Balance) => table.cells.get(`${transport}, ${BALANCES[balance]}, ${clients} client(s)`)?.get(CONTENDER);
    const sticky = figures('sticky');
    const roundRobin = figures('round-robin');
    if (sticky === undefined || roundRobin === undefined) continue;
    const m = (reps: Record<string, number>[], key: string) => median(reps.map((rep) => rep[key]));
    if (m(roundRobin, 'failed') > 0 || !Number.isFinite(m(roundRobin, 'cpuUs'))) {
      lines.push(`${name}: round robin had connections fail (see above), so there is no cost to compare.`);
      continue;
    }
    const diff = (key: string) => m(roundRobin, key) - m(sticky, key);
    const ratio = (key: string) => format(m(roundRobin, key) / m(sticky, key), 2);
    const forwarded = m(roundRobin, 'forwarded');
    const perForwarded = (value: number, unit: string) =>
      forwarded > 0.01 ? `, ${format(value / forwarded, 2)} ${unit} per forwarded request (${format(forwarded, 2)} per call)` : '';
    lines.push(
      `${name}, round robin − sticky: server CPU ${format(diff('cpuUs'), 2)} µs/call (${ratio('cpuUs')}×)${perForwarded(diff('cpuUs'), 'µs')}; ` +
        `with nginx and Redis ${format(diff('cpuUs') + diff('proxyUs') + diff('redisUs'), 2)} µs/call; ` +
        `p50 ${format(diff('p50'), 2)} ms (${ratio('p50')}×)${perForwarded(diff('p50'), 'ms')}, p99 ${format(diff('p99'), 2)} ms (${ratio('p99')}×); calls/s ${ratio('rate')}×.`,
    );
  }
  return lines;
}

/**
 * Workload 10: two nestjs-signalr instances on one redis-server behind nginx, with
 * `connectionTokenSecret` set on both, each client negotiating and connecting through nginx: the
 * echo (closed loop, one call outstanding per client) over WebSockets and over Long Polling, with
 * nginx sticky (`hash $arg_id consistent`: every request of a connection reaches one instance)
 * against plain round robin per request. Through round robin a WebSocket's upgrade reaches the other
 * instance than its negotiate (then stays there); each Long Polling request reaches the instances in
 * turn, so those off the connection's instance must be carried to it over Redis.
 */
export async function proxy(suite: Suite): Promise<void> {
  const { full, smoke } = suite.options;
  const clientCounts = [1, suite.options.connections ?? (smoke ? 4 : 50)];
  const durationMs = smoke ? 200 : full ? 10_000 : 3000;
  const table = suite.table('proxy', `Echo through nginx over two instances on Redis, sticky against round robin (32 B calls, closed loop)`, [
    { key: 'rate', label: 'calls/s', digits: 0 },
    { key: 'cpuUs', label: 'server CPU µs/call (A+B)', digits: 2 },
    { key: 'proxyUs', label: 'nginx CPU µs/call', digits: 2 },
    { key: 'redisUs', label: 'Redis CPU µs/call', digits: 2 },
    { key: 'p50', label: 'p50 ms', digits: 2 },
    { key: 'p99', label: 'p99 ms', digits: 2 },
    { key: 'requests', label: 'HTTP requests/call', digits: 2 },
    { key: 'forwarded', label: 'requests off the owner/call', digits: 2 },
    { key: 'conns', label: "busiest instance's share of connections %", digits: 0 },
    { key: 'failed', label: 'failed connections', digits: 0 },
  ]);
  if (!hasRedisBackplane()) {
    table.notes.push('Skipped: this tree has no src/redis/index.ts (nestjs-signalr/redis) yet.');
    return;
  }
  let rep = 0;
  for (const contender of suite.runs([CONTENDER])) {
    const redis = new RedisServer();
    await redis.start();
    const env = { REDIS_URL: redis.url, BENCH_TOKEN_SECRET: randomBytes(32).toString('base64') };
    const extra = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const options = { cpu: SERVER_CPU, env, nodeArgs: ['--expose-gc', ...extra] };
    const instances = [new Child(contender.server, [], options), new Child(contender.server, [], options)];
    try {
      const ports = await Promise.all(instances.map(async (instance) => (await instance.ready).port as number));
      const balances: Balance[] = rep++ % 2 === 0 ? ['sticky', 'round-robin'] : ['round-robin', 'sticky'];
      for (const balance of balances) {
        const proxy = await startNginx(ports, { balance, upstreamKeepalive: true, cpu: GENERATOR_CPU });
        try {
          for (const transport of TRANSPORTS) await phase({ suite, table, redis, instances, proxy, clientCounts, durationMs }, transport, balance);
        } finally {
          await proxy.stop();
        }
      }
    } finally {
      await Promise.all(instances.map((instance) => instance.stop()));
      await redis.stop();
    }
  }
  for (const line of costNotes(table, clientCounts)) {
    table.notes.push(line);
    console.log(`  [proxy] ${line}`);
  }
  table.notes.push(
    `${CONTENDERS[CONTENDER].label}. Both instances pinned to core ${SERVER_CPU}; nginx (one process, upstream keepalive), Redis and the generator on core ${GENERATOR_CPU}. ` +
      'The generator speaks Long Polling itself over Node http with a keep-alive agent (negotiate, a first GET, one GET always outstanding, a POST per call, DELETE), as the official client does. ' +
      "Requests off the owner: from nginx's access log, a Long Polling request that reached another instance than its connection's first poll did.",
  );
}
