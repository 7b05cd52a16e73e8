import {
  HttpTransportType,
  HubConnection,
  HubConnectionBuilder,
  HubConnectionState,
  IHttpConnectionOptions,
  IHubProtocol,
  JsonHubProtocol,
  LogLevel,
} from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { randomBytes } from 'crypto';
import Redis from 'ioredis';
import { WebSocket } from 'ws';
import { negotiate, request } from '../support/http.js';
import type { NginxProxy } from '../support/nginx.js';
import { type ProxiedCluster, startProxiedCluster, stopProxiedCluster } from '../support/proxied-cluster.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { ClusterInstance, killInstances, RedisServer, startInstance, startRedis } from '../support/redis.js';
import { waitUntil } from '../support/wait.js';

const HUB = '/hubs/cluster';
const WINDOW = 256 * 1024;

const range = (count: number) => Array.from({ length: count }, (_, i) => i);

/**
 * The official client's WebSocket in Node (`ws`), with every socket it opens kept, so a test can cut
 * one. Handed to the client as its `WebSocket` option, which HttpConnection reads though its typings omit it.
 */
function cuttable(sockets: WebSocket[]): unknown {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: object) {
      super(url, protocols, options);
      sockets.push(this);
    }
  };
}

/** Polls an instance until `condition` holds (the instances are other processes). */
async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The next record other than a ping or the server's Ack (which comes on its own once-a-second tick). */
async function nextRecord(raw: RawSocket): Promise<any> {
  for (;;) {
    const record = await raw.nextMessage();
    if (record.type !== 8) return record;
  }
}

async function statistics(instance: ClusterInstance): Promise<{ connections: number; backplane: { bridgedSockets?: number; bridgedBytes?: number } }> {
  return JSON.parse((await request(instance.url('/cluster/statistics'))).body.toString());
}

/** A raw stateful connection of `user` started on `instance` (JSON, handshake done): its id, its token for a query, its socket. */
async function rawStateful(instance: ClusterInstance, user: string): Promise<{ connectionId: string; id: string; first: RawSocket }> {
  const { connectionId, connectionToken } = await negotiate(instance.url(`${HUB}?user=${user}&useStatefulReconnect=true`));
  const id = encodeURIComponent(connectionToken);
  const first = await RawSocket.open(instance.url(`${HUB}?user=${user}&id=${id}`));
  first.sendText(`{"protocol":"json","version":2}${RS}`);
  expect((await first.nextFrame()).data.toString()).toBe(`{}${RS}`);
  return { connectionId, id, first };
}

/** The bridge's channels Redis has subscribers for: attach channels of held connections, reply channels of instances. */
async function bridgeChannels(redis: RedisServer): Promise<{ attach: number; bridge: number }> {
  const client = new Redis(redis.url);
  try {
    const [attach, bridge] = await Promise.all([client.pubsub('CHANNELS', '*internal:attach:*'), client.pubsub('CHANNELS', '*internal:bridge:*')]);
    return { attach: (attach as string[]).length, bridge: (bridge as string[]).length };
  } finally {
    client.disconnect();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Issue 18, stateful reconnect without sticky sessions: two instances on one Redis behind nginx doing
 * round robin per request, so the client's new WebSocket after a cut lands on the other instance
 * than the one holding its connection (nginx's access log shows it did). That instance bridges the
 * socket to the owner over Redis, which keeps its MessageReplay: nothing lost, nothing twice.
 */
describe('Stateful re-attach landing on another instance than the connection', () => {
  let cluster: ProxiedCluster | undefined;
  let redis: RedisServer;
  let instances: ClusterInstance[];
  let proxy: NginxProxy;
  const opened = new Set<HubConnection>();

  beforeAll(async () => {
    cluster = await startProxiedCluster(2, { CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64'), STATEFUL_RECONNECT: '1', PRESENCE_HEARTBEAT: '200' });
    ({ redis, instances, proxy } = cluster);
  }, 60_000);

  afterAll(() => stopProxiedCluster(cluster, opened));

  function statefulClient(user: string, sockets: WebSocket[], protocol: IHubProtocol = new JsonHubProtocol(), reconnect = false): HubConnection {
    let builder = new HubConnectionBuilder()
      .withUrl(proxy.url(`${HUB}?user=${user}`), { transport: HttpTransportType.WebSockets, WebSocket: cuttable(sockets) } as IHttpConnectionOptions)
      .withHubProtocol(protocol)
      .withStatefulReconnect()
      .configureLogging(LogLevel.None);
    if (reconnect) builder = builder.withAutomaticReconnect([0, 100, 200, 400, 800, 1000]);
    const connection = builder.build();
    opened.add(connection);
    return connection;
  }

  it.each([
    ['JSON', () => new JsonHubProtocol()],
    ['MessagePack', () => new MessagePackHubProtocol()],
  ])('official client (%s), socket cut mid-stream both ways: every message once and in order, same connection', async (name, protocol) => {
    const user = `flow-${name}`;
    const sockets: WebSocket[] = [];
    const connection = statefulClient(user, sockets, protocol());
    const items: number[] = [];
    const texts: string[] = [];
    connection.on('item', (item: number | string) => (typeof item === 'number' ? items.push(item) : texts.push(item)));
    let reconnecting = 0;
    let closedWith: Error | undefined | null = null;
    connection.onreconnecting(() => reconnecting++);
    connection.onclose((error) => (closedWith = error));
    await connection.start();
    const connectionId = connection.connectionId;

    const streamed = connection.invoke<number>('Stream', 300, 2);
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 100; i++) sends.push(connection.send('Record', i));
    await waitUntil(() => items.length >= 60);
    sockets[0].terminate();
    for (let i = 100; i < 200; i++) sends.push(connection.send('Record', i));
    expect(await streamed).toBe(300);
    await Promise.all(sends);

    expect(items).toEqual(range(300));
    // One turn's sends leave as one batch; over the bridge a batch beyond 64 KiB crosses in pieces of whole records.
    expect(await connection.invoke('Flood', 100, 2048)).toBe(100);
    await waitUntil(() => texts.length === 100);
    expect(texts.every((text) => text === 'x'.repeat(2048))).toBe(true);
    expect(await connection.invoke('Received')).toEqual(range(200));
    expect(await connection.invoke('WhoAmI')).toBe(connectionId);
    expect(connection.connectionId).toBe(connectionId);
    expect(connection.state).toBe(HubConnectionState.Connected);
    expect([reconnecting, closedWith]).toEqual([0, null]);
    expect(sockets.length).toBe(2);
    await connection.stop();

    // Logged as they ended: negotiate, the socket cut, the re-attach (closed by stop()).
    const [negotiated, first, reattached] = await proxy.logged(`user=${user}`, (logged) => logged.length === 3);
    expect([negotiated, first, reattached].map((logged) => [logged.method, logged.status])).toEqual([
      ['POST', 200],
      ['GET', 101],
      ['GET', 101],
    ]);
    expect(reattached.upstream).toBe(1 - first.upstream);
  });

  it('the bridge is the owner’s re-attach: its Sequence and replay first; a foreign or anonymous re-attach is refused (403)', async () => {
    const [owner, other] = instances;
    const { connectionId, id, first: raw } = await rawStateful(owner, 'owner-2');
    raw.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
    expect(await nextRecord(raw)).toEqual({ type: 3, invocationId: '1', result: connectionId });
    raw.socket.terminate();

    expect(await RawSocket.upgradeStatus(other.url(`${HUB}?user=intruder-2&id=${id}`))).toBe(403);
    expect(await RawSocket.upgradeStatus(other.url(`${HUB}?id=${id}`))).toBe(403);
    const bridged = await RawSocket.open(other.url(`${HUB}?user=owner-2&id=${id}`));
    // Nothing was acknowledged: the owner announces 1 and replays the completion, as on a local re-attach.
    expect(await nextRecord(bridged)).toEqual({ type: 9, sequenceId: 1 });
    expect(await nextRecord(bridged)).toEqual({ type: 3, invocationId: '1', result: connectionId });
    bridged.send(
      { type: 9, sequenceId: 1 },
      { type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] },
      { type: 1, invocationId: '2', target: 'WhoAmI', arguments: [] },
    );
    // The replayed invocation 1 is a duplicate the owner drops; 2 is new.
    expect(await nextRecord(bridged)).toEqual({ type: 3, invocationId: '2', result: connectionId });
    expect((await statistics(other)).backplane.bridgedSockets).toBe(1);

    // The owner ends the connection (a Close from the client): the bridged socket closes with the owner's close frame.
    bridged.send({ type: 7 });
    expect(await bridged.closed()).toBe(1000);
    await until(async () => (await statistics(other)).backplane.bridgedSockets === 0);
    // No stateful connection is held any more (the earlier tests stopped theirs): no attach channel is left.
    await until(async () => (await bridgeChannels(redis)).attach === 0);
  });

  it('an owner that holds the connection but does not answer: the re-attach gets 404 after 5 s, and the owner keeps the connection', async () => {
    const [owner, other] = instances;
    const { connectionId, id, first } = await rawStateful(owner, 'frozen-5');
    first.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
    expect(await nextRecord(first)).toEqual({ type: 3, invocationId: '1', result: connectionId });
    first.socket.terminate();
    // Subscribed before it hangs: the attach request then has a receiver that never answers.
    await until(async () => (await bridgeChannels(redis)).attach === 1);
    owner.freeze();
    try {
      const asked = Date.now();
      expect(await RawSocket.upgradeStatus(other.url(`${HUB}?user=frozen-5&id=${id}`))).toBe(404);
      expect(Date.now() - asked).toBeGreaterThanOrEqual(4900);
    } finally {
      owner.resume();
    }
    // Back, the owner took the stale request and at once heard it was given up: the connection waits for its client.
    const back = await RawSocket.open(owner.url(`${HUB}?user=frozen-5&id=${id}`));
    expect(await nextRecord(back)).toEqual({ type: 9, sequenceId: 1 });
    expect(await nextRecord(back)).toEqual({ type: 3, invocationId: '1', result: connectionId });
    back.close();
    await back.closed();
    await until(async () => (await statistics(other)).backplane.bridgedSockets === 0);
  }, 20_000);

  it('added latency: invocations over a bridged socket against a direct one (p50)', async () => {
    const sockets: WebSocket[] = [];
    const bridged = statefulClient('latency-bridged', sockets);
    const direct = statefulClient('latency-direct', []);
    await bridged.start();
    sockets[0].terminate();
    // The re-attach completes without any event: the next invocation is answered through it.
    expect(await bridged.invoke('WhoAmI')).toBe(bridged.connectionId);
    expect(sockets.length).toBe(2);
    await direct.start();
    const timings = async (connection: HubConnection) => {
      const out: number[] = [];
      for (let i = 0; i < 300; i++) {
        const start = process.hrtime.bigint();
        await connection.invoke('WhoAmI');
        out.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      return out.slice(50);
    };
    const [viaBridge, local] = [await timings(bridged), await timings(direct)];
    const added = median(viaBridge) - median(local);
    process.stdout.write(
      `bridge latency: p50 ${median(viaBridge).toFixed(3)} ms bridged, ${median(local).toFixed(3)} ms direct, ${added.toFixed(3)} ms added\n`,
    );
    expect(added).toBeLessThan(20);
    await Promise.all([bridged.stop(), direct.stop()]);
  });

  // Last: it leaves one instance.
  it('a re-attach after the owner was killed is refused (404) at once: the official client falls back to a new connection', async () => {
    const sockets: WebSocket[] = [];
    const connection = statefulClient('orphan-4', sockets, new JsonHubProtocol(), true);
    const reconnected = new Promise<string | undefined>((resolve) => connection.onreconnected(resolve));
    await connection.start();
    const before = connection.connectionId!;
    // The socket is logged when it closes: its instance is the one the negotiate did not reach.
    const [negotiated] = await proxy.logged('user=orphan-4', (logged) => logged.length === 1);
    const socket = 1 - negotiated.upstream;
    await instances[socket].kill();
    const after = await reconnected;
    expect(after).not.toBe(before);
    expect(connection.state).toBe(HubConnectionState.Connected);
    expect(await connection.invoke('WhoAmI')).toBe(after);
    const refused = (await proxy.logged('user=orphan-4', (logged) => logged.some((entry) => entry.status === 404))).filter((entry) => entry.status === 404);
    expect(refused).toEqual([expect.objectContaining({ method: 'GET', status: 404, upstream: 1 - socket })]);
    await connection.stop();
  });
});

/**
 * Bridges under stress, without the proxy (clients reach each instance directly): a client that stops
 * reading, on instances that keep a lot for replay; the socket's instance dying, on instances whose
 * connections wait 2 s for a re-attach.
 */
describe('Stateful re-attach through another instance, under stress', () => {
  let redis: RedisServer;
  let instances: ClusterInstance[];

  beforeAll(async () => {
    redis = await startRedis();
    const env = {
      CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64'),
      STATEFUL_RECONNECT: '1',
      STATEFUL_BUFFER: String(64 * 1024 * 1024),
      SEND_BUFFER: String(8 * 1024 * 1024),
      DISCONNECT_TIMEOUT: '2000',
    };
    instances = await Promise.all([startInstance(redis.url, env), startInstance(redis.url, env)]);
  }, 60_000);

  afterAll(async () => {
    await killInstances();
    await redis?.close();
  });

  it('a client that stops reading on a bridged socket: the owner closes it at its send limit, the bridge holds at most its window', async () => {
    const [owner, other] = instances;
    const { id, first } = await rawStateful(owner, 'slow-3');
    first.socket.terminate();
    const before = (await statistics(owner)).connections;

    const bridged = await RawSocket.open(other.url(`${HUB}?user=slow-3&id=${id}`));
    expect(await nextRecord(bridged)).toEqual({ type: 9, sequenceId: 1 });
    bridged.send({ type: 9, sequenceId: 1 });
    bridged.socket.pause();
    // 24 MiB in one turn for a client that reads nothing: past twice the send limit (8 MiB here), so closed at once as a slow consumer.
    bridged.send({ type: 1, target: 'Flood', arguments: [3072, 8192] });
    let largest = 0;
    // The owner's Close waits behind what the client does not read; after the close timeout (5 s) the socket is cut off.
    await until(async () => {
      const theirs = await statistics(other);
      largest = Math.max(largest, theirs.backplane.bridgedBytes ?? 0);
      return theirs.backplane.bridgedSockets === 0;
    }, 15_000);
    expect((await statistics(owner)).connections).toBe(before - 1);
    // The kernel's buffers took the first megabytes; then the bridge held what it may, and no more.
    expect(largest).toBeGreaterThan(WINDOW / 2);
    expect(largest).toBeLessThanOrEqual(WINDOW + 16 * 1024);
    bridged.socket.terminate();
  });

  it('a client that floods a busy connection through a bridged socket: the socket is not read beyond a window, then every send arrives in order', async () => {
    const [owner, other] = instances;
    const { id, first } = await rawStateful(owner, 'flooder-7');
    first.socket.terminate();
    const bridged = await RawSocket.open(other.url(`${HUB}?user=flooder-7&id=${id}`));
    expect(await nextRecord(bridged)).toEqual({ type: 9, sequenceId: 1 });
    // The connection's one invocation slot is taken for 3 s: what follows queues, past the high-water mark.
    bridged.send({ type: 9, sequenceId: 1 }, { type: 1, invocationId: '1', target: 'Wait', arguments: [3000] });
    const padding = 'p'.repeat(8192);
    for (let i = 0; i < 4000; i++) bridged.send({ type: 1, target: 'Note', arguments: [i, padding] });
    bridged.send({ type: 1, invocationId: '2', target: 'Received', arguments: [] });
    // 32 MiB sent: the kernel's buffers take a few, the bridge a window, the owner's queue 64 messages; the
    // rest stays with the client. What must not happen (the socket read on) has no event: a second tells.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(bridged.socket.bufferedAmount).toBeGreaterThan(16 * 1024 * 1024);
    expect(await nextRecord(bridged)).toEqual({ type: 3, invocationId: '1', result: 3000 });
    expect(await nextRecord(bridged)).toEqual({ type: 3, invocationId: '2', result: range(4000) });
    expect(bridged.socket.bufferedAmount).toBe(0);
    bridged.close();
    await bridged.closed();
  }, 30_000);

  // Last: it kills the socket's instance.
  it("the socket's instance dies: the owner keeps what it sends for a re-attach, and ends a connection nobody re-attaches after the bridge's silence", async () => {
    const [owner, other] = instances;
    const bridgedVia = async (user: string) => {
      const { connectionId, id, first } = await rawStateful(owner, user);
      first.socket.terminate();
      const bridged = await RawSocket.open(other.url(`${HUB}?user=${user}&id=${id}`));
      expect(await nextRecord(bridged)).toEqual({ type: 9, sequenceId: 1 });
      bridged.send({ type: 9, sequenceId: 1 }, { type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
      expect(await nextRecord(bridged)).toEqual({ type: 3, invocationId: '1', result: connectionId });
      return { connectionId, id };
    };
    const returning = await bridgedVia('returning-6');
    await bridgedVia('abandoned-6');
    // The slow client's connection ended earlier: its channel is gone. The bridge channel is the socket instance's.
    expect(await bridgeChannels(redis)).toEqual({ attach: 2, bridge: 1 });
    const before = (await statistics(owner)).connections;

    await other.kill();
    // What the owner sends meanwhile is kept for the next re-attach, here straight to the owner.
    expect((await request(owner.url('/cluster/send-all?label=meanwhile'), { method: 'POST' })).body.toString()).toBe('result: "sent"');
    const back = await RawSocket.open(owner.url(`${HUB}?user=returning-6&id=${returning.id}`));
    expect(await nextRecord(back)).toEqual({ type: 9, sequenceId: 1 });
    expect(await nextRecord(back)).toEqual({ type: 3, invocationId: '1', result: returning.connectionId });
    expect(await nextRecord(back)).toEqual({ type: 1, target: 'hit', arguments: ['meanwhile'] });
    back.close();
    await back.closed();

    // The other connection's owner hears nothing more from its bridge: after 6 s of silence its socket
    // counts as cut, and 2 s later (its disconnect timeout) the connection ends, its channel with it.
    await until(async () => (await statistics(owner)).connections === before - 2, 15_000);
    expect(await bridgeChannels(redis)).toEqual({ attach: 0, bridge: 0 });
  }, 30_000);
});
