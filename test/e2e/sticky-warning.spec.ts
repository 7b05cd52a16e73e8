import { randomBytes } from 'crypto';
import { Redis } from 'ioredis';
import { LogTexts } from '../../src/signalr.messages.js';
import { ClusterInstance, killInstances, RedisServer, startInstance, startRedis } from '../support/redis.js';
import { waitUntil } from '../support/wait.js';

/** The line each instance prints for the warning (test/fixtures/redis-cluster.app.js's logger). */
const WARNING = `warn SignalR: ${LogTexts.stickySessionsNeeded}`;
/** The presence registry of the fixture's hub: instance name -> when its entries expire. */
const SERVERS = '{ClusterHub:presence}:servers';

const warnings = (instance: ClusterInstance) => instance.logs.filter((line) => line.includes(LogTexts.stickySessionsNeeded));

/**
 * Issue 18: instances on one Redis without `connectionTokenSecret` need sticky sessions, which a
 * deployment may not know it lacks: an instance that sees another on the backplane says so, once.
 */
describe('The sticky-sessions warning', () => {
  const redises: RedisServer[] = [];
  const inspectors: Redis[] = [];

  afterAll(async () => {
    for (const inspector of inspectors) inspector.disconnect();
    await killInstances();
    await Promise.all(redises.map((redis) => redis.close()));
  });

  async function redis(): Promise<{ url: string; inspector: Redis }> {
    const server = await startRedis();
    redises.push(server);
    const inspector = new Redis(server.url);
    inspectors.push(inspector);
    return { url: server.url, inspector };
  }

  /**
   * Resolves once `count` instances are registered and each has renewed its entry twice since: each
   * heartbeat's reply lists every instance, so by then each has seen (and handled) all the others.
   */
  async function heartbeatsSeenBy(inspector: Redis, count: number): Promise<void> {
    const scores = async () => {
      const entries = await inspector.zrange(SERVERS, '0', '-1', 'WITHSCORES');
      const read = new Map<string, number>();
      for (let i = 0; i < entries.length; i += 2) read.set(entries[i], Number(entries[i + 1]));
      return read;
    };
    const deadline = Date.now() + 10_000;
    const until = async (done: (read: Map<string, number>) => boolean) => {
      let read: Map<string, number>;
      while (!done((read = await scores()))) {
        if (Date.now() > deadline) throw new Error(`presence registry: ${JSON.stringify([...read])}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return read;
    };
    const renewed = (before: Map<string, number>) => (read: Map<string, number>) =>
      read.size === count && [...before].every(([server, score]) => (read.get(server) ?? 0) > score);
    const registered = await until((read) => read.size === count);
    await until(renewed(await until(renewed(registered))));
  }

  it('without a secret: a single instance is silent; once another joins, each warns exactly once, and a third changes nothing for them', async () => {
    const { url, inspector } = await redis();
    const env = { PRESENCE_HEARTBEAT: '100' };
    const alone = await startInstance(url, env);
    await heartbeatsSeenBy(inspector, 1);
    expect(warnings(alone)).toEqual([]);

    const second = await startInstance(url, env);
    await waitUntil(() => warnings(alone).length > 0 && warnings(second).length > 0, 10_000);
    const third = await startInstance(url, env);
    await waitUntil(() => warnings(third).length > 0, 10_000);
    await heartbeatsSeenBy(inspector, 3);
    expect([alone, second, third].map(warnings)).toEqual([[WARNING], [WARNING], [WARNING]]);
  });

  it('with a shared secret: instances that see each other do not warn', async () => {
    const { url, inspector } = await redis();
    const env = { PRESENCE_HEARTBEAT: '100', CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64') };
    const instances = [await startInstance(url, env), await startInstance(url, env)];
    await heartbeatsSeenBy(inspector, 2);
    expect(instances.map(warnings)).toEqual([[], []]);
  });
});
