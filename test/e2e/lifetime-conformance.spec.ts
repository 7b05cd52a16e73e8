import { HttpTransportType, HubConnection, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { PresenceEvent, SignalRModule } from '../../src/index.js';
import { redisBackplane, RedisBackplaneOptions } from '../../src/redis/index.js';
import { SignalRHubRegistry } from '../../src/signalr.registry.js';
import { ClusterControllerModule, ClusterHub, clusterIdentity } from '../fixtures/cluster.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { startRedis } from '../support/redis.js';
import { startRedisCluster } from '../support/redis-cluster-mode.js';
import { waitUntil } from '../support/wait.js';

/**
 * The same cases for every lifetime manager: in memory (one app) and on Redis (two apps in this
 * process, each with its own backplane, clients spread over both). A future backplane joins the list.
 */
interface Layout {
  name: string;
  /** Starts the apps; members are spread over them round-robin. */
  start(): Promise<TestApp[]>;
  /** What adding an unknown connection to a group gives: ASP.NET Core's in-memory no-op, or the Redis ack timeout. */
  unknownGroupAdd: string;
  stop?(): Promise<void>;
}

/** What a Redis layout's group add for an unknown connection gives: the ack timeout. */
const REDIS_UNKNOWN_GROUP_ADD =
  "Error: No instance acknowledged adding connection 'unknown' to group 'g' within 300 ms: no instance owns that connection, or it is unreachable.";

/** Two apps in this process, each with its own backplane on the Redis that `connect` names. */
function redisLayout<S extends { close(): Promise<void> }>(name: string, startServer: () => Promise<S>, connect: (server: S) => RedisBackplaneOptions): Layout {
  let server: S | null = null;
  return {
    name,
    start: async () => {
      const started = (server = await startServer());
      const options = { ...connect(started), ackTimeout: 300, presenceHeartbeat: 200 };
      const app = () =>
        startApp({
          imports: [SignalRModule.forRoot({ ...clusterIdentity, backplane: redisBackplane(options) }), ClusterControllerModule],
          providers: [ClusterHub],
        });
      return [await app(), await app()];
    },
    unknownGroupAdd: REDIS_UNKNOWN_GROUP_ADD,
    stop: async () => {
      await server?.close();
      server = null;
    },
  };
}

const layouts: Layout[] = [
  {
    name: 'in-memory manager',
    start: async () => [await startApp({ imports: [SignalRModule.forRoot(clusterIdentity), ClusterControllerModule], providers: [ClusterHub] })],
    unknownGroupAdd: 'result: "ok"',
  },
  redisLayout(
    'Redis manager (two instances)',
    () => startRedis(),
    (redis) => ({ url: redis.url }),
  ),
  redisLayout(
    'Redis Cluster manager (two instances, a three-node Redis Cluster)',
    () => startRedisCluster(3),
    (cluster) => ({ cluster: { nodes: cluster.nodes } }),
  ),
];

describe.each(layouts)('lifetime manager conformance: $name', (layout) => {
  let apps: TestApp[];
  const opened: HubConnection[] = [];
  const members: Array<{ name: string; connection: HubConnection; id: string; hits: string[] }> = [];
  let fences = 0;
  const context = (index = 0) => apps[index].app.get(SignalRHubRegistry).contextFor(ClusterHub);

  beforeAll(async () => {
    apps = await layout.start();
    const plan: Array<[string, string, HttpTransportType, boolean]> = [
      ['m1', 'ada', HttpTransportType.WebSockets, false],
      ['m2', 'bob', HttpTransportType.ServerSentEvents, false],
      ['m3', 'ada', HttpTransportType.LongPolling, false],
      ['m4', 'carl', HttpTransportType.WebSockets, true],
    ];
    for (const [index, [name, user, transport, msgpack]] of plan.entries()) {
      const builder = new HubConnectionBuilder()
        .withUrl(apps[index % apps.length].url(`/hubs/cluster?user=${user}`), { transport })
        .configureLogging(LogLevel.None);
      const connection = (msgpack ? builder.withHubProtocol(new MessagePackHubProtocol()) : builder).build();
      const hits: string[] = [];
      connection.on('hit', (label: string) => hits.push(label));
      connection.on('confirm', (text: string) => `yes:${text}`);
      await connection.start();
      opened.push(connection);
      members.push({ name, connection, hits, id: await connection.invoke<string>('WhoAmI') });
    }
  }, 30_000);

  afterAll(async () => {
    await Promise.all(opened.map((connection) => connection.stop().catch(() => undefined)));
    for (const app of apps ?? []) await app.close();
    await layout.stop?.();
  });

  /** Who received `label` from `send` (once per receipt, sorted), fenced by an `all` from the same member. */
  async function recipients(sender: number, send: (connection: HubConnection) => Promise<unknown>): Promise<string[]> {
    for (const member of members) member.hits.length = 0;
    const connection = members[sender].connection;
    await send(connection);
    const fence = `fence-${++fences}`;
    await connection.invoke('All', fence);
    await waitUntil(() => members.every((member) => member.hits.includes(fence)));
    return members.flatMap((member) => member.hits.filter((hit) => hit === 'x').map(() => member.name)).sort();
  }
  const id = (index: number) => members[index].id;

  it('every target reaches its recipients exactly once', async () => {
    expect(await recipients(0, (c) => c.invoke('All', 'x'))).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(await recipients(1, (c) => c.invoke('AllExcept', [id(0), id(3)], 'x'))).toEqual(['m2', 'm3']);
    expect(await recipients(2, (c) => c.invoke('Others', 'x'))).toEqual(['m1', 'm2', 'm4']);
    expect(await recipients(0, (c) => c.invoke('Client', id(1), 'x'))).toEqual(['m2']);
    expect(await recipients(3, (c) => c.invoke('ClientsOf', [id(0), id(1), 'unknown'], 'x'))).toEqual(['m1', 'm2']);
    expect(await recipients(1, (c) => c.invoke('User', 'ada', 'x'))).toEqual(['m1', 'm3']);
    expect(await recipients(0, (c) => c.invoke('Users', ['bob', 'carl'], 'x'))).toEqual(['m2', 'm4']);
  });

  it('a burst of sends to one connection through every target arrives in send order', async () => {
    const receiver = members[1];
    await receiver.connection.invoke('Join', 'ordered');
    receiver.hits.length = 0;
    const clients = context(0).clients;
    const sends: Array<Promise<void>> = [];
    const expected: string[] = [];
    for (let i = 0; i < 400; i++) {
      const label = `o${i}`;
      expected.push(label);
      const target = [clients.all, clients.user('bob'), clients.client(receiver.id), clients.group('ordered')][i % 4];
      sends.push(target.send('hit', label));
    }
    await Promise.all(sends);
    await waitUntil(() => receiver.hits.length >= expected.length);
    expect(receiver.hits).toEqual(expected);
    await receiver.connection.invoke('Leave', 'ordered');
  });

  it('groups: membership from anywhere, group(s), groupExcept, othersInGroup, removal', async () => {
    await members[0].connection.invoke('Join', 'g');
    expect(await members[0].connection.invoke('JoinOther', id(1), 'g')).toBe('result: "ok"');
    expect(await members[3].connection.invoke('JoinOther', id(2), 'h')).toBe('result: "ok"');
    await members[1].connection.invoke('Join', 'h');
    expect(await recipients(3, (c) => c.invoke('Group', 'g', 'x'))).toEqual(['m1', 'm2']);
    expect(await recipients(2, (c) => c.invoke('GroupsOf', ['g', 'h'], 'x'))).toEqual(['m1', 'm2', 'm2', 'm3']);
    expect(await recipients(0, (c) => c.invoke('GroupExcept', 'g', [id(0)], 'x'))).toEqual(['m2']);
    expect(await recipients(1, (c) => c.invoke('OthersInGroup', 'h', 'x'))).toEqual(['m3']);
    expect(await members[2].connection.invoke('LeaveOther', id(1), 'g')).toBe('result: "ok"');
    expect(await recipients(2, (c) => c.invoke('Group', 'g', 'x'))).toEqual(['m1']);
    expect(await members[0].connection.invoke('JoinOther', 'unknown', 'g')).toBe(layout.unknownGroupAdd);
  });

  it('client results from a hub method and from HubContext', async () => {
    expect(await members[0].connection.invoke('Ask', id(3), 'confirm', 'q')).toBe('result: "yes:q"');
    expect(await members[3].connection.invoke('Ask', id(2), 'confirm', 'q')).toBe('result: "yes:q"');
    await expect(
      context(apps.length - 1)
        .clients.client(id(0))
        .invoke('confirm', 'ctx'),
    ).resolves.toBe('yes:ctx');
    await expect(context().clients.client('unknown').invoke('confirm')).rejects.toThrow("Connection 'unknown' does not exist.");
  });

  it('arguments no hub protocol can write: every send and client-result call rejects with the encoder error, nobody receives anything', async () => {
    const notSerializable = { name: 'TypeError', message: 'Do not know how to serialize a BigInt' };
    for (const member of members) member.hits.length = 0;
    const clients = context(0).clients;
    await expect(clients.all.send('hit', 10n)).rejects.toMatchObject(notSerializable);
    await expect(clients.user('bob').send('hit', 10n)).rejects.toMatchObject(notSerializable);
    await expect(clients.clients([id(0), id(1)]).send('hit', 10n)).rejects.toMatchObject(notSerializable);
    await expect(clients.client(id(0)).invoke('confirm', 10n)).rejects.toMatchObject(notSerializable);
    await expect(clients.client(id(1)).invoke('confirm', 10n)).rejects.toMatchObject(notSerializable);
    await members[0].connection.invoke('All', 'after');
    await waitUntil(() => members.every((member) => member.hits.includes('after')));
    expect(members.map((member) => member.hits)).toEqual([['after'], ['after'], ['after'], ['after']]);
    expect(await members[3].connection.invoke('Ask', id(0), 'confirm', 'q')).toBe('result: "yes:q"');
  });

  it('presence: counts per user on every instance, joined and left events', async () => {
    const expected = new Map([
      ['ada', 2],
      ['bob', 1],
      ['carl', 1],
    ]);
    for (const index of apps.keys()) {
      await waitUntilAsync(async () => sameEntries(await context(index).presence.onlineUsers(), expected));
      expect(await context(index).presence.connectionCount('ada')).toBe(2);
    }
    const events: PresenceEvent[] = [];
    const stop = context(0).presence.subscribe((event) => events.push(event));
    await stop.ready;
    const dora = new HubConnectionBuilder()
      .withUrl(apps[apps.length - 1].url('/hubs/cluster?user=dora'))
      .configureLogging(LogLevel.None)
      .build();
    const ada = new HubConnectionBuilder()
      .withUrl(apps[apps.length - 1].url('/hubs/cluster?user=ada'))
      .configureLogging(LogLevel.None)
      .build();
    await dora.start();
    await ada.start();
    await waitUntil(() => events.length === 1);
    await dora.stop();
    await ada.stop();
    await waitUntil(() => events.length === 2);
    expect(events).toEqual([
      { type: 'joined', userId: 'dora' },
      { type: 'left', userId: 'dora' },
    ]);
    stop();
    expect(await context(0).presence.connectionCount('dora')).toBe(0);
  });
});

function sameEntries(actual: Map<string, number>, expected: Map<string, number>): boolean {
  return JSON.stringify([...actual].sort()) === JSON.stringify([...expected].sort());
}

async function waitUntilAsync(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
