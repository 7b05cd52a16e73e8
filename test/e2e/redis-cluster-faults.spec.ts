import { HubConnection, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { LoggerService } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { SignalRModule } from '../../src/index.js';
import { redisBackplane } from '../../src/redis/index.js';
import { ClusterControllerModule, ClusterHub, clusterIdentity } from '../fixtures/cluster.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { RedisClusterServer, startRedisCluster } from '../support/redis-cluster-mode.js';
import { ClusterMember, clusterMember, untilDelivered } from '../support/cluster-members.js';
import { eventually, waitUntil } from '../support/wait.js';

const HUB = '/hubs/cluster';
const OUTAGE = /^warn SignalR:Redis: Redis backplane unreachable \(.+\); serving this instance's connections only, reconnecting with backoff\.$/;
const RECOVERED = /^log SignalR:Redis: Redis backplane connected again; (\d+) send\(s\) could not be published during the outage\.$/;
const UNAVAILABLE = 'The Redis backplane is not connected; only connections on this instance can be reached right now.';

/** Nest's log lines as `<level> <context>: <message>` (the test apps log nothing otherwise). */
function lineLogger(lines: string[]): LoggerService {
  const push =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) =>
      lines.push(`${level} ${String(rest[rest.length - 1])}: ${String(message)}`);
  return { log: push('log'), warn: push('warn'), error: push('error'), fatal: push('fatal'), debug: () => undefined, verbose: () => undefined };
}

/**
 * Two app instances in this process, each with its own backplane (an ioredis Cluster that publishes
 * and one connection to one node that subscribes), on a three-node Redis Cluster of primaries
 * without replicas; clients on both with the official client. The first instance gets the cluster's
 * nodes (`cluster`), the second a Cluster client the app made (`client`). A node is SIGKILLed and restarted on its port with its nodes-<port>.conf
 * (same node id, same slots, an empty dataset).
 *
 * What dies with a node: the primary an instance publishes through (each instance keeps to one), the
 * subscriber connection of an instance that sits on it (it moves to another node, and what was
 * published meanwhile does not reach that instance: an outage of the instance's hearing, logged), and, for one node, the presence slot (every presence key shares one hash tag). Without
 * replicas the killed node's slots have no owner while it is down. It is back well within
 * cluster-node-timeout (15 s), so the other nodes never mark it failed and keep cluster_state:ok;
 * the restarted node reports ok after its rejoin delay. PUBLISH and SUBSCRIBE carry no keys and
 * work on any live node; only the presence scripts need the presence slot's node, so presence is
 * asserted once the cluster is ok again. Sends made while a node (or all) is down may be lost
 * (at-most-once, as with one Redis): delivery afterwards is awaited by resending, then a batch must
 * arrive exactly once and in order.
 *
 * Nest's logger is process-wide, so the log lines of both instances land in one list.
 */
describe('Redis Cluster backplane faults: nodes crash and come back', () => {
  let cluster: RedisClusterServer;
  let clusterClient: Cluster | undefined;
  const apps: TestApp[] = [];
  const logs: string[] = [];
  const opened = new Set<HubConnection>();

  const member = (app: TestApp, user: string) => clusterMember(app, user, opened);

  /** The users online as `app` reads them, in a stable order (a Redis hash has none). */
  const presence = async (app: TestApp) => {
    const reply = (await (await fetch(app.url('/cluster/presence'))).json()) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(reply).sort(([x], [y]) => (x < y ? -1 : 1)));
  };
  /** The presence events `app` heard, as `joined ada`. */
  const events = async (app: TestApp) =>
    ((await (await fetch(app.url('/cluster/presence-events'))).json()) as Array<{ type: string; userId: string }>).map(
      ({ type, userId }) => `${type} ${userId}`,
    );
  const outageLines = () => logs.filter((line) => OUTAGE.test(line));
  const recoveredLines = () => logs.filter((line) => RECOVERED.test(line));

  /** After a fault healed: both directions flow again, then sends arrive exactly once and in order. */
  async function crossInstanceWorks(a1: ClusterMember, a2: ClusterMember, b1: ClusterMember, tag: string) {
    await untilDelivered(a1.connection, b1.hits, `a-to-b-${tag}`);
    await untilDelivered(b1.connection, a2.hits, `b-to-a-${tag}`);
    for (const hits of [a1.hits, a2.hits, b1.hits]) hits.length = 0;
    const batch = Array.from({ length: 20 }, (_, i) => `once-${tag}-${i}`);
    for (const label of batch) await a1.connection.invoke('All', label);
    await a1.connection.invoke('All', `fence-${tag}`); // from the same sender: it arrives after the batch
    await waitUntil(() => [a1.hits, a2.hits, b1.hits].every((hits) => hits.includes(`fence-${tag}`)), 10_000);
    for (const [name, hits] of Object.entries({ a1: a1.hits, a2: a2.hits, b1: b1.hits })) {
      expect({ name, hits: hits.filter((hit) => hit.startsWith('once-')) }).toEqual({ name, hits: batch });
    }
    // Client results across instances, both ways, and a group change for a connection elsewhere.
    expect(await a1.connection.invoke('Ask', b1.id, 'confirm', `x-${tag}`)).toBe(`result: "yes:x-${tag}"`);
    expect(await b1.connection.invoke('Ask', a2.id, 'confirm', `y-${tag}`)).toBe(`result: "yes:y-${tag}"`);
    expect(await a1.connection.invoke('JoinOther', b1.id, `room-${tag}`)).toBe('result: "ok"');
    await a2.connection.invoke('Group', `room-${tag}`, `room-hit-${tag}`);
    await waitUntil(() => b1.hits.includes(`room-hit-${tag}`));
  }

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    clusterClient = new Cluster(cluster.nodes, { enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 0 } });
    clusterClient.on('error', () => undefined);
    for (let index = 0; index < 2; index++) {
      const connection = index === 0 ? { cluster: { nodes: cluster.nodes } } : { client: clusterClient };
      apps.push(
        await startApp(
          {
            imports: [
              SignalRModule.forRoot({
                ...clusterIdentity,
                // A heartbeat of 1 s (instances reaped after 3 s of silence): after a node's crash an instance's cluster
                // client may take well over 600 ms to find the slot's new node on a loaded machine, and being reaped
                // meanwhile is a real leave and join, which the test rightly counts.
                backplane: redisBackplane({ ...connection, ackTimeout: 1000, presenceHeartbeat: 1000 }),
              }),
              ClusterControllerModule,
            ],
            providers: [ClusterHub],
          },
          (app) => app.useLogger(lineLogger(logs)),
        ),
      );
    }
  }, 30_000);

  afterAll(async () => {
    await Promise.all([...opened].map((connection) => connection.stop().catch(() => undefined)));
    for (const app of apps) await app.close();
    clusterClient?.disconnect();
    await cluster?.close();
  });

  it('each node in turn crashes: local service goes on; afterwards sends cross exactly once, client results and presence work', async () => {
    const [a, b] = apps;
    const a1 = await member(a, 'ada');
    const a2 = await member(a, 'alan');
    const b1 = await member(b, 'bob');
    const everyone = { ada: 1, alan: 1, bob: 1 };
    expect(await eventually(() => presence(b), everyone)).toEqual(everyone);

    /** What each node served when it was killed, to show that the kills hit every role. */
    const roles: Array<{ node: number; subscribers: number; publishes: number; presenceKeys: number }> = [];
    const publishCalls = async (node: number) => Number(/cmdstat_publish:calls=(\d+)/.exec(await cluster.cli(node, ['info', 'commandstats']))?.[1] ?? 0);
    for (let node = 0; node < 3; node++) {
      // Subscriber connections show sub=<n> in CLIENT LIST; a PUBLISH counts in the commandstats of
      // the node it entered only (the cluster bus forwards it to the others without a command).
      const before = await publishCalls(node);
      await untilDelivered(a1.connection, b1.hits, `probe-a-${node}`);
      await untilDelivered(b1.connection, a2.hits, `probe-b-${node}`);
      roles.push({
        node,
        subscribers: (await cluster.cli(node, ['client', 'list'])).split('\n').filter((line) => / sub=[1-9]/.test(line)).length,
        publishes: (await publishCalls(node)) - before,
        presenceKeys: (await cluster.cli(node, ['keys', '{ClusterHub:presence}:*'])).split('\n').filter(Boolean).length,
      });
      await cluster.stop(node);

      // While it is down each instance serves its own clients; a send resolves whether or not its
      // part for the other instance got through.
      await a1.connection.invoke('All', `local-${node}`);
      await b1.connection.invoke('Others', `maybe-${node}`);
      await waitUntil(() => a2.hits.includes(`local-${node}`));
      expect(await a1.connection.invoke('Ask', a2.id, 'confirm', `local-${node}`)).toBe(`result: "yes:local-${node}"`);
      const passing = new HubConnectionBuilder()
        .withUrl(b.url(`${HUB}?user=bea`))
        .configureLogging(LogLevel.None)
        .build();
      opened.add(passing);
      await passing.start(); // new connections are accepted too
      await passing.stop();

      await cluster.start(node);
      await cluster.waitUntilOk();
      await crossInstanceWorks(a1, a2, b1, `node-${node}`);
      // The restarted node lost its keys; if it held the presence slot the instances wrote theirs again.
      expect(await eventually(() => presence(a), everyone)).toEqual(everyone);
      expect(await eventually(() => presence(b), everyone)).toEqual(everyone);
    }

    // Every role was hit by some kill (each node was killed once, and a role moves only when its node dies).
    expect(roles.some((role) => role.subscribers > 0)).toBe(true);
    expect(roles.some((role) => role.publishes > 0)).toBe(true);
    expect(roles.some((role) => role.presenceKeys > 0)).toBe(true);
    // Nothing failed. A crashed node that held an instance's subscriber interrupts what that instance
    // hears until it subscribes on another node: told as an outage and its end, once each. Every node
    // crashed once, so each instance was interrupted at least once.
    expect(logs.filter((line) => /^(error|fatal) /.test(line))).toEqual([]);
    const backplaneLines = logs.filter((line) => line.includes('SignalR:Redis'));
    const outages = backplaneLines.filter((line) => line.includes('Redis backplane unreachable'));
    const recoveries = backplaneLines.filter((line) => line.includes('Redis backplane connected again'));
    expect(outages.length + recoveries.length).toBe(backplaneLines.length);
    expect(outages.length).toBeGreaterThanOrEqual(apps.length);
    expect(recoveries.length).toBe(outages.length);
    // Presence told only real changes: though the presence node lost every key and each instance wrote
    // its users again, nobody was told a second `joined` (bea came and went in every round).
    for (const [instance, app] of apps.entries()) {
      const told = (await events(app)).filter((event) => !event.endsWith(' bea')).sort();
      expect({ instance, told }).toEqual({ instance, told: ['joined ada', 'joined alan', 'joined bob'] });
    }
  }, 30_000);

  it('every node crashes at once: one warning per instance, local service goes on, then everything resumes', async () => {
    const [a, b] = apps;
    const a1 = await member(a, 'amy');
    const a2 = await member(a, 'abe');
    const b1 = await member(b, 'ben');
    await untilDelivered(a1.connection, b1.hits, 'warm-up');
    const arrived = ['joined amy', 'joined abe', 'joined ben'];
    for (const app of apps) {
      const told = await eventually(async () => (await events(app)).filter((event) => arrived.includes(event)).sort(), [...arrived].sort());
      expect(told).toEqual([...arrived].sort());
    }
    const toldBefore = await Promise.all(apps.map(events));
    const online = await presence(a); // these three, and whoever an earlier test left connected
    expect(online).toMatchObject({ abe: 1, amy: 1, ben: 1 });
    logs.length = 0;

    await Promise.all([0, 1, 2].map((node) => cluster.stop(node)));
    // Both connections of each instance notice: one warning per instance.
    await waitUntil(() => outageLines().length === 2, 10_000);
    for (let i = 0; i < 20; i++) await a1.connection.invoke('All', `during-${i}`);
    const during = () => a2.hits.filter((hit) => hit.startsWith('during-'));
    await waitUntil(() => during().length >= 20);
    expect(during()).toEqual(Array.from({ length: 20 }, (_, i) => `during-${i}`));
    expect(await a1.connection.invoke('Ask', b1.id, 'confirm', 'x')).toBe(`Error: ${UNAVAILABLE}`);
    expect(await a1.connection.invoke('JoinOther', b1.id, 'g')).toBe(`Error: ${UNAVAILABLE}`);
    expect(await a1.connection.invoke('Ask', a2.id, 'confirm', 'local')).toBe('result: "yes:local"');
    expect(await (await fetch(a.url('/cluster/presence'))).json()).toEqual({ error: UNAVAILABLE });

    await Promise.all([0, 1, 2].map((node) => cluster.start(node)));
    await cluster.waitUntilOk();
    await waitUntil(() => recoveredLines().length === 2, 15_000);
    // A's 20 sends were counted as not published (B sent nothing meanwhile), and never replayed.
    expect(
      recoveredLines()
        .map((line) => Number(RECOVERED.exec(line)![1]))
        .sort((x, y) => x - y),
    ).toEqual([0, 20]);
    expect(b1.hits.filter((hit) => hit.startsWith('during-'))).toEqual([]);

    await crossInstanceWorks(a1, a2, b1, 'all');
    // Every node restarted empty: presence was written again by both instances.
    expect(await eventually(() => presence(a), online)).toEqual(online);
    expect(await eventually(() => presence(b), online)).toEqual(online);
    // One warning and one recovery line per instance, and no second `joined` after the recovery.
    expect(outageLines()).toHaveLength(2);
    expect(recoveredLines()).toHaveLength(2);
    for (const [instance, app] of apps.entries()) {
      expect({ instance, told: await events(app) }).toEqual({ instance, told: toldBefore[instance] });
    }
  }, 30_000);
});
