import { randomBytes } from 'crypto';
import { Redis } from 'ioredis';
import { HttpTexts } from '../../src/signalr.messages.js';
import { negotiate } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { ClusterInstance, killInstances, RedisServer, startInstance, startRedis } from '../support/redis.js';
import { RedisTexts } from '../../src/redis/redis-texts.js';
import { waitUntil } from '../support/wait.js';

const HUB = '/hubs/cluster';
/** The hubs' default disconnect timeout: how long a signed token may start its connection. */
const WINDOW = 15_000;

/** 101 with the open socket, or the refusal's status and body. */
function upgrade(url: string): Promise<{ status: number; body?: string; raw?: RawSocket }> {
  return RawSocket.open(url).then(
    (raw) => ({ status: 101, raw }),
    (error: { status?: number; body?: string }) => ({ status: error.status ?? -1, body: error.body }),
  );
}

/**
 * Issue 18, once per cluster: a signed token starts its connection on one instance only, even when
 * its transport's first request reaches two instances at once (a client retrying through another
 * path, or a replayed token). The instances agree through one SET NX in Redis per start.
 */
describe('Once per cluster: a signed token starts its connection on one instance', () => {
  let redis: RedisServer;
  let instances: ClusterInstance[];
  let inspector: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    const env = { CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64') };
    instances = await Promise.all([startInstance(redis.url, env), startInstance(redis.url, env)]);
    inspector = new Redis(redis.url);
  }, 60_000);

  afterAll(async () => {
    inspector?.disconnect();
    await killInstances();
    await redis?.close();
  });

  it('the same token upgraded on both instances at once: one 101, one 404, and one claim that expires with the window', async () => {
    const [a, b] = instances;
    const { connectionId, connectionToken } = await negotiate(a.url(`${HUB}?user=twice`));
    const path = `${HUB}?user=twice&id=${encodeURIComponent(connectionToken)}`;
    const outcomes = await Promise.all([upgrade(a.url(path)), upgrade(b.url(path))]);
    for (const outcome of outcomes) outcome.raw?.socket.terminate();

    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual([101, 404]);
    expect(outcomes.find((outcome) => outcome.status === 404)!.body).toBe(HttpTexts.connectionNotFound);
    expect(await inspector.keys('transport-claim:*')).toEqual([`transport-claim:${connectionId}`]);
    const ttl = await inspector.pttl(`transport-claim:${connectionId}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW);
  });
});

describe('Once per cluster while Redis is down: connections still start, unclaimed', () => {
  let redis: RedisServer;
  let instances: ClusterInstance[];

  beforeAll(async () => {
    redis = await startRedis();
    const env = { CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64') };
    instances = await Promise.all([startInstance(redis.url, env), startInstance(redis.url, env)]);
  }, 60_000);

  afterAll(async () => {
    await killInstances();
    await redis?.close();
  });

  it('a token negotiated on one instance starts on the other without a claim; one warning for the outage', async () => {
    const [a, b] = instances;
    await redis.stop();
    await waitUntil(() => b.logs.some((line) => line.startsWith('warn SignalR:Redis: Redis backplane unreachable (')));
    for (const user of ['down-1', 'down-2']) {
      const { connectionToken } = await negotiate(a.url(`${HUB}?user=${user}`));
      const outcome = await upgrade(b.url(`${HUB}?user=${user}&id=${encodeURIComponent(connectionToken)}`));
      outcome.raw?.socket.terminate();
      expect(outcome.status).toBe(101);
    }
    expect(b.logs.filter((line) => line === `warn SignalR:Redis: ${RedisTexts.unclaimedStart}`)).toHaveLength(1);
    expect(a.logs.filter((line) => line.includes(RedisTexts.unclaimedStart))).toEqual([]);
  });
});
