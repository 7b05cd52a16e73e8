import { decode, encode } from '@msgpack/msgpack';
import { HubConnection } from '@microsoft/signalr';
import Redis from 'ioredis';
import { SignalRModule } from '../../src/index.js';
import { redisBackplane } from '../../src/redis/index.js';
import type { RedisHubLifetimeManager } from '../../src/redis/redis-hub-lifetime-manager.js';
import { SignalRHubRegistry } from '../../src/signalr.registry.js';
import { EchoHub } from '../fixtures/echo.hub.js';
import { ClusterControllerModule, ClusterHub, clusterIdentity } from '../fixtures/cluster.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, nextCall, stopAll } from '../support/client.js';
import { RedisServer, startRedis } from '../support/redis.js';
import { waitUntil } from '../support/wait.js';

const P = 'app1.ClusterHub';

/** Polls a Redis-side condition (subscriptions settle asynchronously). */
async function eventually(condition: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const RS = '\x1e';

/**
 * What goes over Redis, seen from a raw Redis client that plays an ASP.NET Core instance of the
 * same hub: channel names, envelopes, acks and completions as section 7 of the protocol reference.
 */
describe('Redis backplane on the wire (ASP.NET Core channels and envelopes)', () => {
  let redis: RedisServer;
  let app: TestApp;
  let peer: Redis;
  let peerSubscriber: Redis;
  const heard: Array<[string, Buffer]> = [];

  const channels = async () => ((await peer.pubsub('CHANNELS')) as string[]).filter((channel) => channel.startsWith(`${P}:`)).sort();
  const publishes = async () => Number(/cmdstat_publish:calls=(\d+)/.exec(await peer.info('commandstats'))?.[1] ?? 0);
  const clientCount = async () => ((await peer.client('LIST')) as string).trim().split('\n').length;
  const next = (channel: string) => waitUntil(() => heard.some(([name]) => name === channel)).then(() => heard.find(([name]) => name === channel)![1]);

  beforeAll(async () => {
    redis = await startRedis();
    peer = new Redis(redis.url);
    peerSubscriber = new Redis(redis.url);
    peerSubscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => heard.push([channel.toString(), message]));
    app = await startApp({
      imports: [SignalRModule.forRoot({ ...clusterIdentity, backplane: redisBackplane({ url: redis.url, channelPrefix: 'app1.' }) }), ClusterControllerModule],
      providers: [ClusterHub, EchoHub],
    });
  });
  afterEach(() => stopAll());
  afterAll(async () => {
    await stopAll();
    await app?.close();
    peer?.disconnect();
    peerSubscriber?.disconnect();
    await redis?.close();
  });

  it('subscribes literal channels only, and a connection, user or group channel only while it has a local member', async () => {
    const server = /^app1\.ClusterHub:internal:ack:(.+_[0-9a-f]{32})$/;
    await eventually(async () => (await channels()).length === 5);
    const before = await channels();
    const serverName = before.map((channel) => server.exec(channel)?.[1]).find(Boolean)!;
    expect(before).toEqual(
      [`${P}:all`, `${P}:internal:ack:${serverName}`, `${P}:internal:groups`, `${P}:internal:return:${serverName}`, `${P}:internal:presence`].sort(),
    );
    expect(await peer.pubsub('NUMPAT')).toBe(0);

    const client = await connect(app.url('/hubs/cluster?user=ada'));
    const id = await client.invoke<string>('WhoAmI');
    await client.invoke('Join', 'room');
    expect(await channels()).toEqual([...before, `${P}:connection:${id}`, `${P}:group:room`, `${P}:user:ada`].sort());
    await client.invoke('Leave', 'room');
    expect(await channels()).toEqual([...before, `${P}:connection:${id}`, `${P}:user:ada`].sort());
    await client.stop();
    await eventually(async () => (await channels()).length === before.length);
    expect(await channels()).toEqual(before);
    const manager = app.app.get(SignalRHubRegistry).lifetimeFor(ClusterHub) as RedisHubLifetimeManager;
    expect(manager.stats).toEqual({ connections: 0, groups: 0, users: 0, pendingClientResults: 0, pendingAcks: 0, droppedSends: 0 });
  });

  it('publishes one envelope per send: every protocol framed, the sender named in a fifth item', async () => {
    await peerSubscriber.subscribe(`${P}:all`, `${P}:group:g`);
    const client = await connect(app.url('/hubs/cluster'));
    const id = await client.invoke<string>('WhoAmI');
    const count = await publishes();
    await client.invoke('AllExcept', ['someone'], 'x');
    expect((await publishes()) - count).toBe(1);
    const [excluded, encodings, invocationId, returnChannel, origin] = decode(await next(`${P}:all`)) as [
      string[],
      Record<string, Uint8Array>,
      null,
      null,
      string,
    ];
    expect(excluded).toEqual(['someone']);
    expect(Object.keys(encodings).sort()).toEqual(['json', 'messagepack']);
    expect(Buffer.from(encodings.json).toString()).toBe(`{"type":1,"target":"hit","arguments":["x"]}${RS}`);
    // MessagePack: VarInt length, then [1, {}, null, "hit", ["x"], []] (headers, no invocation id, no streams).
    expect(decode(Buffer.from(encodings.messagepack).subarray(1))).toEqual([1, {}, null, 'hit', ['x'], []]);
    expect([invocationId, returnChannel]).toEqual([null, null]);
    expect(origin).toMatch(/_[0-9a-f]{32}$/);

    const before = await publishes();
    await client.invoke('GroupsOf', ['g', 'h'], 'y');
    expect((await publishes()) - before).toBe(2); // one channel per group, one envelope
    await client.invoke('Client', id, 'local');
    expect((await publishes()) - before).toBe(2); // a local connection: no Redis at all
    await peerSubscriber.unsubscribe(`${P}:all`, `${P}:group:g`);
  });

  it("delivers ASP.NET Core's two-item envelopes, and acks its group commands", async () => {
    const client = await connect(app.url('/hubs/cluster'));
    const id = await client.invoke<string>('WhoAmI');
    const json = (args: unknown[]) => Buffer.from(`${JSON.stringify({ type: 1, target: 'hit', arguments: args })}${RS}`);
    const hit = nextCall(client, 'hit');
    await peer.publish(`${P}:all`, Buffer.from(encode([[], { json: json(['from aspnet']) }])));
    expect(await hit).toEqual(['from aspnet']);

    await peerSubscriber.subscribe(`${P}:internal:ack:aspnet_0123`);
    await peer.publish(`${P}:internal:groups`, Buffer.from(encode([7, 'aspnet_0123', 1, 'g2', id])));
    expect(decode(await next(`${P}:internal:ack:aspnet_0123`))).toEqual([7]);
    expect(await channels()).toContain(`${P}:group:g2`);
    const grouped = nextCall(client, 'hit');
    await peer.publish(`${P}:group:g2`, Buffer.from(encode([[], { json: json(['to g2']) }])));
    expect(await grouped).toEqual(['to g2']);
  });

  it("answers an ASP.NET Core instance's client result on its return channel", async () => {
    const client: HubConnection = await connect(app.url('/hubs/cluster'));
    client.on('confirm', (text: string) => `yes:${text}`);
    const id = await client.invoke<string>('WhoAmI');
    await peerSubscriber.subscribe('peer:return');
    const invocation = Buffer.from(`${JSON.stringify({ type: 1, invocationId: 'abcdefghijklmnopqrstuv', target: 'confirm', arguments: ['q'] })}${RS}`);
    const receivers = await peer.publish(`${P}:connection:${id}`, Buffer.from(encode([[], { json: invocation }, 'abcdefghijklmnopqrstuv', 'peer:return'])));
    expect(receivers).toBe(1);
    const [protocol, completion] = decode(await next('peer:return')) as [string, Uint8Array];
    expect(protocol).toBe('json');
    expect(JSON.parse(Buffer.from(completion).toString().replace(RS, ''))).toEqual({ type: 3, invocationId: 'abcdefghijklmnopqrstuv', result: 'yes:q' });
  });

  it('refuses a backplane without a connection, and one hub name twice on one backplane', async () => {
    expect(() => redisBackplane({})).toThrow("redisBackplane() needs one of 'url', 'client', 'redis' or 'cluster'.");
    const backplane = redisBackplane({ url: redis.url });
    const protocols = app.app.get(SignalRHubRegistry).protocols;
    const manager = backplane.createLifetimeManager(ClusterHub, protocols);
    expect(() => backplane.createLifetimeManager(ClusterHub, protocols)).toThrow(
      "The Redis backplane already serves a hub named 'ClusterHub': give each app its own redisBackplane(), and hubs distinct names (the hubName option).",
    );
    await manager.close();
    await backplane.close();
  });

  it("works on the app's own ioredis client, and leaves it open on shutdown", async () => {
    const own = new Redis(redis.url, { enableOfflineQueue: false });
    await new Promise((resolve) => own.once('ready', resolve));
    const other = await startApp({
      imports: [SignalRModule.forRoot({ ...clusterIdentity, backplane: redisBackplane({ client: own, channelPrefix: 'app1.' }) })],
      providers: [EchoHub],
    });
    const before = await clientCount();
    await other.close();
    // Redis lists a connection until it has seen the socket close, just after QUIT's reply.
    await eventually(async () => (await clientCount()) <= before - 1);
    expect(await clientCount()).toBe(before - 1); // the subscriber it duplicated
    expect(own.status).toBe('ready');
    own.disconnect();
    await eventually(async () => (await clientCount()) === before - 2);
  });

  it('uses one subscriber and one publisher connection for every hub of the app, and closes them on shutdown', async () => {
    expect(await clientCount()).toBe(2 + 2); // the peer's two, the app's two (two hubs)
    await app.close();
    await eventually(async () => (await clientCount()) <= 2);
    expect(await clientCount()).toBe(2);
    app = undefined as unknown as TestApp;
  });
});
