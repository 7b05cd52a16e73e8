import { HubConnection } from '@microsoft/signalr';
import { createServer, Server, Socket } from 'net';
import { SignalRModule } from '../../src/index.js';
import { redisBackplane } from '../../src/redis/index.js';
import { ClusterControllerModule, ClusterHub, clusterIdentity } from '../fixtures/cluster.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { buildClient, connect, stopAll } from '../support/client.js';
import { RedisServer, startRedis } from '../support/redis.js';
import { waitUntil } from '../support/wait.js';

/**
 * A TCP proxy in front of Redis that can hold one SUBSCRIBE in flight: the first client-to-server
 * chunk naming `channel` with a SUBSCRIBE, and everything after it on that socket (TCP keeps order),
 * stays here until `release()`. Nothing of ours is mocked; Redis just answers late.
 */
class SubscribeHold {
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  private channel: string | null = null;
  private parked: { upstream: Socket; chunks: Buffer[] } | null = null;
  private markHeld!: () => void;
  /** Settles once the SUBSCRIBE of the held channel reached the proxy (and was kept). */
  held!: Promise<void>;
  released = false;

  constructor(private readonly redisPort: number) {}

  listen(): Promise<number> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      this.sockets.add(client).add(upstream);
      upstream.connect(this.redisPort, '127.0.0.1');
      upstream.on('data', (chunk) => client.write(chunk));
      client.on('data', (chunk) => this.forward(upstream, chunk));
      const end = () => (client.destroy(), upstream.destroy());
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port)));
  }

  hold(channel: string): void {
    this.channel = channel;
    this.released = false;
    this.held = new Promise((resolve) => (this.markHeld = resolve));
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.channel = null;
    const parked = this.parked;
    this.parked = null;
    for (const chunk of parked?.chunks ?? []) parked!.upstream.write(chunk);
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private forward(upstream: Socket, chunk: Buffer): void {
    if (this.parked?.upstream === upstream) {
      this.parked.chunks.push(chunk);
      return;
    }
    const text = chunk.toString('latin1');
    if (this.channel !== null && this.parked === null && /subscribe/i.test(text) && text.includes(this.channel)) {
      this.parked = { upstream, chunks: [chunk] };
      this.markHeld();
      return;
    }
    upstream.write(chunk);
  }
}

/**
 * ASP.NET Core's RedisHubLifetimeManager awaits the channel's subscription on every add (user or
 * group), not only the first: once a join or a connect completed, sends from other instances reach
 * it. Here the first member's SUBSCRIBE is held at the proxy while a second member joins/connects
 * on the same instance; the second one must not complete before the subscription is active.
 */
describe('Redis backplane: a second member of a user or group waits for the channel subscription in flight', () => {
  /** Long enough for a completion that does not wait to show up first; a passing run waits this once per test. */
  const RELEASE_CAP_MS = 500;
  let redis: RedisServer;
  let proxy: SubscribeHold;
  let a: TestApp; // reaches Redis through the proxy
  let b: TestApp; // reaches Redis directly
  const hits = new Map<HubConnection, string[]>();

  const app = (url: string) =>
    startApp({
      imports: [SignalRModule.forRoot({ ...clusterIdentity, backplane: redisBackplane({ url, channelPrefix: 'race.' }) }), ClusterControllerModule],
      providers: [ClusterHub],
    });
  const heard = (connection: HubConnection) => {
    const labels: string[] = [];
    hits.set(connection, labels);
    connection.on('hit', (label: string) => labels.push(label));
    return labels;
  };

  beforeAll(async () => {
    redis = await startRedis();
    proxy = new SubscribeHold(redis.port);
    const proxyPort = await proxy.listen();
    a = await app(`redis://127.0.0.1:${proxyPort}`);
    b = await app(redis.url);
  });
  afterEach(async () => {
    proxy.release();
    await stopAll();
  });
  afterAll(async () => {
    await stopAll();
    await a?.close();
    await b?.close();
    await proxy?.close();
    await redis?.close();
  });

  it("group: the second joiner's addToGroup resolves only once the group's channel is subscribed, so a send from another instance right after reaches it", async () => {
    const first = await connect(a.url('/hubs/cluster?user=ada'));
    const second = await connect(a.url('/hubs/cluster?user=alan'));
    const sender = await connect(b.url('/hubs/cluster?user=bob'));
    const [firstHits, secondHits] = [heard(first), heard(second)];

    proxy.hold('race.ClusterHub:group:room');
    const firstJoin = first.invoke('Join', 'room');
    await proxy.held;
    let releasedWhenJoined: boolean | null = null;
    const secondJoin = second.invoke('Join', 'room').then(async () => {
      releasedWhenJoined = proxy.released;
      await sender.invoke('Group', 'room', 'right-after-join');
    });
    const cap = setTimeout(() => proxy.release(), RELEASE_CAP_MS);
    await secondJoin;
    clearTimeout(cap);
    proxy.release();
    await firstJoin;

    await sender.invoke('Group', 'room', 'fence');
    await waitUntil(() => secondHits.includes('fence') && firstHits.includes('fence'));
    expect({ secondHits, firstHits, releasedWhenJoined }).toEqual({
      secondHits: ['right-after-join', 'fence'],
      firstHits: ['right-after-join', 'fence'],
      releasedWhenJoined: true,
    });
  });

  it("user: a second connection of a user gets its first invocation answered only once the user's channel is subscribed, so a send from another instance right after reaches it", async () => {
    const sender = await connect(b.url('/hubs/cluster?user=bob'));
    const first = buildClient(a.url('/hubs/cluster?user=xavier'));
    const second = buildClient(a.url('/hubs/cluster?user=xavier'));
    const [firstHits, secondHits] = [heard(first), heard(second)];

    proxy.hold('race.ClusterHub:user:xavier');
    const firstStart = first.start();
    await proxy.held;
    let releasedWhenStarted: boolean | null = null;
    // start() settles at the handshake (as against ASP.NET Core); the first invocation runs after the
    // hub's onConnected, which is what waits for the subscriptions.
    const secondStart = second.start().then(async () => {
      await second.invoke('WhoAmI');
      releasedWhenStarted = proxy.released;
      await sender.invoke('User', 'xavier', 'right-after-first-call');
    });
    const cap = setTimeout(() => proxy.release(), RELEASE_CAP_MS);
    await secondStart;
    clearTimeout(cap);
    proxy.release();
    await firstStart;

    await sender.invoke('User', 'xavier', 'fence');
    await waitUntil(() => secondHits.includes('fence') && firstHits.includes('fence'));
    expect({ secondHits, firstHits, releasedWhenStarted }).toEqual({
      secondHits: ['right-after-first-call', 'fence'],
      firstHits: ['right-after-first-call', 'fence'],
      releasedWhenStarted: true,
    });
  });
});
