import * as fs from 'fs';
import * as path from 'path';
import { ProtocolName } from '../load/wire-protocols.js';
import { Child } from '../support/ipc.js';
import { RedisServer } from '../support/redis-server.js';
import { cpuMsBetween, SERVER_CPU, Suite } from '../support/suite.js';
import { run } from './broadcast.js';

/** Whether this tree has the Redis backplane's entry yet (looked up in the source, nothing loaded). */
export function hasRedisBackplane(): boolean {
  return fs.existsSync(path.join(__dirname, '..', '..', 'src', 'redis', 'index.ts'));
}

/**
 * Workload 6: two server instances on one Redis (a real redis-server started here on a free port),
 * half the connections on each; the server of instance A broadcasts. Reports delivered msg/s, p50/p99
 * (single instance alongside, for the latency Redis adds), and PUBLISH commands per send from INFO
 * commandstats. nestjs-signalr uses `backplane: redisBackplane({ url })`, Socket.IO its Redis adapter.
 */
export async function cluster(suite: Suite): Promise<void> {
  const { full, smoke } = suite.options;
  const count = suite.options.connections ?? (smoke ? 20 : full ? 10_000 : 1000);
  const contenders: ProtocolName[] = hasRedisBackplane() ? ['signalr-json', 'signalr-msgpack', 'socketio'] : ['socketio'];
  const burstDeliveries = smoke ? 2000 : full ? 1_000_000 : 100_000;
  const steadyRate = smoke ? 2000 : 20_000;
  const steadyMs = smoke ? 100 : full ? 10_000 : 2000;
  const table = suite.table('cluster', `Two instances on Redis (${count} connections, half on each; 64 B broadcasts from instance A)`, [
    { key: 'rate', label: 'delivered msg/s', digits: 0, ratio: true },
    { key: 'cpuUs', label: 'server CPU µs/msg (A+B)', digits: 3, ratio: true },
    { key: 'p50', label: 'p50 ms', digits: 2 },
    { key: 'p99', label: 'p99 ms', digits: 2 },
    { key: 'publishes', label: 'PUBLISH per send', digits: 2 },
    { key: 'lost', label: 'lost', digits: 0 },
  ]);
  if (!contenders.includes('signalr-json')) table.notes.push('nestjs-signalr rows skipped: this tree has no src/redis/index.ts (nestjs-signalr/redis) yet.');
  const steadyArgs = () => {
    const rate = steadyRate / count;
    return { sends: Math.max(1, Math.round((rate * steadyMs) / 1000)), rate };
  };
  for (const contender of suite.runs(contenders)) {
    // The same steady load on one instance without Redis: the latency Redis adds is the difference.
    await suite.withServer(contender, async (server, port) => {
      await suite.generator.call('connect', { port, protocol: contender.name, count });
      const args = steadyArgs();
      const got = await run(suite, server, args.sends * count, 'broadcast', { ...args, size: 64 });
      suite.record(table, `1 instance, no Redis, steady ${steadyRate / 1000}k msg/s`, contender.name, { ...got, publishes: 0 });
    });
    const redis = new RedisServer();
    await redis.start();
    const env = { REDIS_URL: redis.url };
    const options = { cpu: SERVER_CPU, env, nodeArgs: ['--expose-gc'] };
    const nodes = [new Child(contender.server, [], options), new Child(contender.server, [], options)];
    try {
      const ports = await Promise.all(nodes.map(async (node) => (await node.ready).port as number));
      for (const port of ports) await suite.generator.call('connect', { port, protocol: contender.name, count: count / 2 });
      const phase = async (caseName: string, args: { sends: number; burst?: number; rate?: number }) => {
        await Promise.all(nodes.map((node) => node.call('gc')));
        await suite.generator.call('startReceive');
        const before = await Promise.all(nodes.map((node) => node.call('stats')));
        const publishedBefore = redis.publishCount();
        await nodes[0].call('broadcast', { ...args, size: 64 });
        const got = await suite.generator.call('awaitReceive', { expected: args.sends * count });
        const after = await Promise.all(nodes.map((node) => node.call('stats')));
        const cpuMs = cpuMsBetween(before[0], after[0]) + cpuMsBetween(before[1], after[1]);
        suite.record(table, caseName, contender.name, {
          rate: got.received / (got.ms / 1000),
          cpuUs: (cpuMs * 1000) / got.received,
          p50: got.latency.p50,
          p99: got.latency.p99,
          publishes: (redis.publishCount() - publishedBefore) / args.sends,
          lost: args.sends * count - got.received,
        });
      };
      await phase('2 instances, burst', { sends: Math.max(1, Math.round(burstDeliveries / count)), burst: 10 });
      await phase(`2 instances, steady ${steadyRate / 1000}k msg/s`, steadyArgs());
    } finally {
      await suite.generator.call('closeAll').catch(() => undefined);
      await Promise.all(nodes.map((node) => node.stop()));
      await redis.stop();
    }
  }
  table.notes.push(
    `Both instances share core ${SERVER_CPU}; Redis runs on the generator's core. The latency Redis adds: p50/p99 of the 2-instance steady rows against the 1-instance row.`,
  );
}
