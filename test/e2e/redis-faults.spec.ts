import { spawn } from 'child_process';
import { HubConnection } from '@microsoft/signalr';
import { createServer } from 'net';
import { clusterMember, untilDelivered } from '../support/cluster-members.js';
import { eventually, waitUntil } from '../support/wait.js';
import { freePort } from '../support/processes.js';
import { ClusterInstance, killInstances, RedisServer, startInstance, startRedis } from '../support/redis.js';

const OUTAGE = /^warn SignalR:Redis: Redis backplane unreachable \(.+\); serving this instance's connections only, reconnecting with backoff\.$/;
const RECOVERED = /^log SignalR:Redis: Redis backplane connected again; (\d+) send\(s\) could not be published during the outage\.$/;
const UNAVAILABLE = 'Error: The Redis backplane is not connected; only connections on this instance can be reached right now.';

const opened = new Set<HubConnection>();

const member = (instance: ClusterInstance, user: string) => clusterMember(instance, user, opened);

const outageLines = (instance: ClusterInstance) => instance.logs.filter((line) => OUTAGE.test(line));
const recoveredLines = (instance: ClusterInstance) => instance.logs.filter((line) => RECOVERED.test(line));

describe('Redis backplane faults (instances in separate processes)', () => {
  let redis: RedisServer;
  const instances: ClusterInstance[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all([...opened].map((connection) => connection.stop().catch(() => undefined)));
    await killInstances();
    await redis?.close();
  });

  it('Redis stops and comes back: local service goes on, one warning, sends reach only local clients, then everything resumes', async () => {
    const [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
    instances.push(a, b);
    const a1 = await member(a, 'ada');
    const a2 = await member(a, 'alan');
    const b1 = await member(b, 'bob');
    await untilDelivered(a1.connection, b1.hits, 'warm-up');

    await redis.stop();
    await waitUntil(() => outageLines(a).length === 1 && outageLines(b).length === 1, 5000);

    // Many sends during the outage: every one reaches the local clients, resolves, and is not queued.
    for (let i = 0; i < 20; i++) await a1.connection.invoke('All', `during-${i}`);
    const during = () => a2.hits.filter((hit) => hit.startsWith('during-'));
    await waitUntil(() => during().length >= 20);
    expect(during()).toEqual(Array.from({ length: 20 }, (_, i) => `during-${i}`));
    expect(await a1.connection.invoke('Ask', b1.id, 'confirm', 'x')).toBe(UNAVAILABLE);
    expect(await a1.connection.invoke('JoinOther', b1.id, 'g')).toBe(UNAVAILABLE);
    expect(await a1.connection.invoke('Ask', a2.id, 'confirm', 'local')).toBe('result: "yes:local"');
    expect(await (await fetch(a.url('/cluster/presence'))).json()).toEqual({ error: UNAVAILABLE.slice('Error: '.length) });
    expect(outageLines(a)).toHaveLength(1); // once per outage, not per send

    await redis.start();
    await waitUntil(() => recoveredLines(a).length === 1 && recoveredLines(b).length === 1, 10_000);
    expect(RECOVERED.exec(recoveredLines(a)[0])![1]).toBe('20');
    expect(b1.hits.filter((hit) => hit.startsWith('during-'))).toEqual([]); // at-most-once: lost, never replayed

    await untilDelivered(a1.connection, b1.hits, 'after');
    expect(await a1.connection.invoke('Ask', b1.id, 'confirm', 'x')).toBe('result: "yes:x"');
    expect(await b1.connection.invoke('Join', 'room')).toBeNull();
    expect(await a1.connection.invoke('JoinOther', a2.id, 'room')).toBe('result: "ok"');
    // The restarted Redis is empty: presence was written again by every instance.
    const presence = async () =>
      Object.fromEntries(
        Object.entries((await (await fetch(b.url('/cluster/presence'))).json()) as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)),
      );
    expect(await eventually(presence, { ada: 1, alan: 1, bob: 1 }, 5000)).toEqual({ ada: 1, alan: 1, bob: 1 });
    expect(outageLines(a)).toHaveLength(1);
    await Promise.all([a.stop(), b.stop()]);
  }, 60_000);

  it('after a Redis restart, presence tells only real changes: no second `joined`, one `left` for who left during the outage', async () => {
    const [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
    instances.push(a, b);
    const events = async (instance: ClusterInstance) =>
      ((await (await fetch(instance.url('/cluster/presence-events'))).json()) as Array<{ type: string; userId: string }>).map(
        ({ type, userId }) => `${type} ${userId}`,
      );
    /** Waits until both instances told exactly `expected` (polling their HTTP endpoint), then checks it. */
    const bothTold = async (expected: string[]) => {
      // Generous: after the restart an instance may wait for a heartbeat of the other before it tells.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && JSON.stringify([await events(a), await events(b)]) !== JSON.stringify([expected, expected])) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect([await events(a), await events(b)]).toEqual([expected, expected]);
    };
    const told: string[] = [];
    const arrive = async (instance: ClusterInstance, user: string) => {
      const joined = await member(instance, user);
      told.push(`joined ${user}`);
      await bothTold(told);
      return joined;
    };
    await arrive(a, 'ada');
    await arrive(a, 'alan');
    await arrive(b, 'bob');
    const carol = (await arrive(b, 'carol')).connection;
    const ada2 = await member(b, 'ada'); // ada on both instances: she stays online while one of her connections closes

    await redis.stop();
    await waitUntil(() => outageLines(a).length === 1 && outageLines(b).length === 1, 5000);
    await carol.stop(); // carol really leaves while Redis is down
    await ada2.connection.stop(); // ada does not: her connection on the first instance stays
    const dan = await member(a, 'dan'); // dan really arrives while Redis is down

    await redis.start();
    await waitUntil(() => recoveredLines(a).length === 1 && recoveredLines(b).length === 1, 10_000);
    // Each instance tells the difference once, after both wrote their users to the empty Redis.
    told.push('left carol', 'joined dan');
    await bothTold(told);
    expect(await (await fetch(b.url('/cluster/presence'))).json()).toEqual({ ada: 1, alan: 1, bob: 1, dan: 1 });

    // Events flow as before afterwards, and nothing late slipped in between.
    await arrive(b, 'eve');
    await dan.connection.stop();
    told.push('left dan');
    await bothTold(told);
    await Promise.all([a.stop(), b.stop()]);
  }, 60_000);

  it('Redis unreachable at start: the instance serves its own clients, then joins the cluster once Redis is up', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const a = await startInstance(url);
    await waitUntil(() => outageLines(a).length === 1, 5000);
    const a1 = await member(a, 'ada');
    const a2 = await member(a, 'alan');
    await a1.connection.invoke('All', 'local');
    await waitUntil(() => a2.hits.includes('local'));

    const late = await startRedisOn(port);
    try {
      const b = await startInstance(url);
      const b1 = await member(b, 'bob');
      await waitUntil(() => recoveredLines(a).length === 1, 10_000);
      await untilDelivered(a1.connection, b1.hits, 'joined');
      await untilDelivered(b1.connection, a2.hits, 'back');
      expect(outageLines(b)).toEqual([]);
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      await late.close();
    }
  }, 40_000);

  it('Redis that comes up just after an instance tried it: startup waits for it, no outage is reported, the first send crosses', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    // Until Redis runs, a stand-in on its port hangs up on whoever connects: the instance's first try fails.
    const standIn = createServer((socket) => socket.destroy());
    const tried = new Promise<void>((resolve) => standIn.once('connection', () => resolve()));
    await new Promise<void>((resolve) => standIn.listen(port, '127.0.0.1', () => resolve()));
    const starting = startInstance(url);
    await tried;
    await new Promise<void>((resolve) => standIn.close(() => resolve()));
    const late = await startRedisOn(port);
    try {
      const a = await starting;
      const b = await startInstance(url);
      const a1 = await member(a, 'ada');
      const b1 = await member(b, 'bob');
      await a1.connection.invoke('All', 'first');
      await waitUntil(() => b1.hits.includes('first'), 5000);
      expect({ outages: outageLines(a), recoveries: recoveredLines(a) }).toEqual({ outages: [], recoveries: [] });
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      await late.close();
    }
  }, 40_000);
});

/** A redis-server on a given port (the test above needs one where an instance already looks). */
async function startRedisOn(port: number): Promise<{ close(): Promise<void> }> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
