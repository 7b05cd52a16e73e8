import {
  HttpTransportType,
  HubConnection,
  HubConnectionBuilder,
  HubConnectionState,
  IHubProtocol,
  JsonHubProtocol,
  LogLevel,
  Subject,
} from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { randomBytes } from 'crypto';
import { connect as tcpConnect } from 'net';
import { negotiate, request } from '../support/http.js';
import { type NginxProxy, startNginx } from '../support/nginx.js';
import { type ProxiedCluster, startProxiedCluster, stopProxiedCluster } from '../support/proxied-cluster.js';
import { RS } from '../support/raw-socket.js';
import { ClusterInstance, killInstances, RedisServer, startInstance, startRedis } from '../support/redis.js';
import { eventually, waitUntil } from '../support/wait.js';

const HUB = '/hubs/cluster';
/** Both instances' relays when nothing is carried. */
const IDLE = [
  { carrying: 0, serving: 0 },
  { carrying: 0, serving: 0 },
];
const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;

/**
 * Issue 18, carrying: the requests of an SSE or long-polling connection (POSTs, polls, DELETE) that
 * reach an instance which does not hold the connection are carried over Redis to the one that does.
 * nginx does round robin per request, so consecutive requests of one connection land on alternate
 * instances; its access log says which instance answered each.
 */
const TRANSPORTS: Array<[string, HttpTransportType, () => IHubProtocol]> = [
  ['WebSockets JSON', HttpTransportType.WebSockets, () => new JsonHubProtocol()],
  ['WebSockets MessagePack', HttpTransportType.WebSockets, () => new MessagePackHubProtocol()],
  ['ServerSentEvents JSON', HttpTransportType.ServerSentEvents, () => new JsonHubProtocol()],
  ['LongPolling JSON', HttpTransportType.LongPolling, () => new JsonHubProtocol()],
  ['LongPolling MessagePack', HttpTransportType.LongPolling, () => new MessagePackHubProtocol()],
];

interface Member {
  user: string;
  connection: HubConnection;
  hits: string[];
  reconnected: boolean;
}

function member(url: string, user: string, transport: HttpTransportType, protocol: IHubProtocol, reconnect = false): Member {
  let builder = new HubConnectionBuilder().withUrl(url, { transport }).withHubProtocol(protocol).configureLogging(LogLevel.None);
  if (reconnect) builder = builder.withAutomaticReconnect([0, 100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000]);
  const connection = builder.build();
  const hits: string[] = [];
  const made: Member = { user, connection, hits, reconnected: false };
  connection.on('hit', (label: string) => hits.push(label));
  connection.on('Echo', (arg: string) => `${arg}!`);
  connection.onreconnected(() => (made.reconnected = true));
  return made;
}

/** Uploads `items` to `upper` and collects what streams back. */
async function upper(connection: HubConnection, items: string[]): Promise<string[]> {
  const upload = new Subject<string>();
  const received: string[] = [];
  const done = new Promise<void>((resolve, reject) =>
    connection.stream<string>('Upper', upload).subscribe({ next: (item) => received.push(item), complete: resolve, error: reject }),
  );
  for (const item of items) upload.next(item);
  upload.complete();
  await done;
  return received;
}

/**
 * A client whose connection was on the killed instance learns it from its next request (a carried
 * one gets 404 once its owner is found gone), then reconnects: its call is made again once it did.
 */
async function servedAfterKill(one: Member): Promise<string> {
  const reconnected = new Promise<void>((resolve) => one.connection.onreconnected(() => resolve()));
  try {
    return await one.connection.invoke<string>('WhoAmI');
  } catch {
    await reconnected;
    return one.connection.invoke<string>('WhoAmI');
  }
}

async function relayPending(instance: ClusterInstance): Promise<unknown> {
  return JSON.parse((await request(instance.url('/cluster/relay'))).body.toString());
}

describe('No affinity, carried requests: two instances behind a round-robin proxy', () => {
  let cluster: ProxiedCluster | undefined;
  let instances: ClusterInstance[];
  let proxy: NginxProxy;
  const opened = new Set<HubConnection>();

  beforeAll(async () => {
    cluster = await startProxiedCluster(2, { CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64'), PRESENCE_HEARTBEAT: '200', ACK_TIMEOUT: '3000' });
    ({ instances, proxy } = cluster);
  }, 60_000);

  afterAll(() => stopProxiedCluster(cluster, opened));

  it.each(TRANSPORTS)('%s: connects, invokes, streams both ways, gets broadcasts, client results, groups and users', async (name, transport, protocol) => {
    const tag = name.replace(' ', '-');
    const [a, b] = [`${tag}-a`, `${tag}-b`].map((user) => member(proxy.url(`${HUB}?user=${user}`), user, transport, protocol()));
    for (const { connection } of [a, b]) {
      opened.add(connection);
      await connection.start();
    }
    expect(await a.connection.invoke('WhoAmI')).toBe(a.connection.connectionId);
    expect(await b.connection.invoke('WhoAmI')).toBe(b.connection.connectionId);
    expect(await upper(a.connection, ['one', 'two', 'three'])).toEqual(['ONE', 'TWO', 'THREE']);
    expect(await a.connection.invoke('Ask', b.connection.connectionId, 'Echo', 'ping')).toBe('result: "ping!"');
    await b.connection.invoke('Join', `group-${tag}`);
    await a.connection.invoke('Group', `group-${tag}`, 'to-group');
    await a.connection.invoke('User', b.user, 'to-user');
    await a.connection.invoke('All', 'to-all');
    await waitUntil(() => a.hits.length === 1 && b.hits.length === 3);
    expect(a.hits).toEqual(['to-all']);
    expect([...b.hits].sort()).toEqual(['to-all', 'to-group', 'to-user']);
    await a.connection.stop();
    await b.connection.stop();

    if (transport === HttpTransportType.WebSockets) return;
    const requests = await proxy.logged(`user=${tag}-a`, (entries) => entries.some((entry) => entry.method === 'POST' && !entry.uri.includes('negotiate')));
    // Every request of the connection was answered as if it had reached the owner, from both instances.
    const sends = requests.filter((entry) => entry.method === 'POST' && !entry.uri.includes('/negotiate'));
    // The client's Close message on stop races its DELETE (the client does not wait for it): it may find the connection gone, as it may locally.
    const close = sends.pop()!;
    expect([200, 404]).toContain(close.status);
    expect(sends.filter((entry) => entry.status !== 200)).toEqual([]);
    expect(new Set(sends.map((entry) => entry.upstream))).toEqual(new Set([0, 1]));
    // Requests the stop left in flight (the poll it aborted) are let go of as they end.
    expect(await eventually(() => Promise.all(instances.map(relayPending)), IDLE)).toEqual(IDLE);
  });

  /** A long-polling connection negotiated on A and started on B (its owner): the rest is asked of A. */
  async function pollingOnB(user: string, path = HUB): Promise<{ id: string; viaA: (query?: string) => string }> {
    const [a, b] = instances;
    const { connectionToken } = await negotiate(a.url(`${path}?user=${user}`));
    const id = encodeURIComponent(connectionToken);
    expect((await request(b.url(`${path}?user=${user}&id=${id}`))).status).toBe(200);
    return { id, viaA: (query = `user=${user}`) => a.url(`${path}?${query}&id=${id}`) };
  }

  it("the owner's answers, carried: polls, 403 to another user's POST and poll, DELETE's 202, then 404", async () => {
    const { viaA } = await pollingOnB('carried-1');
    expect((await request(viaA(), { method: 'POST', body: HANDSHAKE })).status).toBe(200);
    expect((await request(viaA())).body.toString()).toBe(`{}${RS}`);
    expect((await request(viaA('user=intruder-3'), { method: 'POST', body: HANDSHAKE })).status).toBe(403);
    expect((await request(viaA('user=intruder-3'))).status).toBe(403);
    expect((await request(viaA('anonymous=1'), { method: 'DELETE' })).status).toBe(403);
    // A hub message past the 32 KiB limit, in a body of several carried chunks: the owner closes the connection, as it would locally.
    expect((await request(viaA(), { method: 'POST', body: 'x'.repeat(200_000) })).status).toBe(200);
    const closing = await request(viaA());
    expect([closing.status, closing.body.toString()]).toEqual([200, `{"type":7,"error":"Connection closed with an error.","allowReconnect":true}${RS}`]);
    expect((await request(viaA())).status).toBe(204);

    const second = await pollingOnB('carried-2');
    expect((await request(second.viaA(), { method: 'DELETE' })).status).toBe(202);
    const gone = await request(second.viaA(), { method: 'POST', body: HANDSHAKE });
    expect([gone.status, gone.body.toString()]).toEqual([404, 'No Connection with that ID']);
  });

  it("a raw connection's POST past its limit: the owner's 413, carried; the echo comes back through the other instance", async () => {
    const { viaA } = await pollingOnB('raw-1', '/raw/cluster-echo');
    const refused = await request(viaA(), { method: 'POST', body: 'y'.repeat(100_000) });
    expect(refused.status).toBe(413);
    expect((await request(viaA(), { method: 'POST', body: 'shout' })).status).toBe(200);
    expect((await request(viaA())).body.toString()).toBe('SHOUT');
    expect((await request(viaA(), { method: 'DELETE' })).status).toBe(202);
  });

  it('a client gone mid-poll: the owner keeps the data for the next poll; nothing stays held', async () => {
    const [, b] = instances;
    const { id, viaA } = await pollingOnB('vanishing');
    expect((await request(viaA(), { method: 'POST', body: HANDSHAKE })).status).toBe(200);
    expect((await request(viaA())).body.toString()).toBe(`{}${RS}`);
    // A poll held on B through A, whose client goes away.
    const abandoned = tcpConnect(Number(new URL(viaA()).port), '127.0.0.1');
    abandoned.write(`GET ${new URL(viaA()).pathname}${new URL(viaA()).search} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(await eventually(() => relayPending(b), { carrying: 0, serving: 1 })).toEqual({ carrying: 0, serving: 1 });
    abandoned.destroy();
    expect(await eventually(() => relayPending(b), { carrying: 0, serving: 0 })).toEqual({ carrying: 0, serving: 0 });
    const invocation = `${JSON.stringify({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] })}${RS}`;
    expect((await request(b.url(`${HUB}?user=vanishing&id=${id}`), { method: 'POST', body: invocation })).status).toBe(200);
    const answered = (await request(viaA())).body.toString();
    expect(answered.endsWith(RS)).toBe(true);
    expect(JSON.parse(answered.slice(0, -1))).toEqual({ type: 3, invocationId: '1', result: expect.any(String) });
    expect(await Promise.all(instances.map(relayPending))).toEqual(IDLE);
  });

  it('many carried POSTs at once, and bodies that break off mid-way: each answered, nothing stays held', async () => {
    const { viaA } = await pollingOnB('flood');
    expect((await request(viaA(), { method: 'POST', body: HANDSHAKE })).status).toBe(200);
    expect((await request(viaA())).body.toString()).toBe(`{}${RS}`);
    // 128 KiB of pings each (16 bytes a record: chunks end between records): two chunks per POST, queued behind each other on the owner.
    const pings = `{"type":6}     ${RS}`.repeat(8192);
    const statuses = await Promise.all(Array.from({ length: 40 }, () => request(viaA(), { method: 'POST', body: pings }).then((response) => response.status)));
    expect(statuses).toEqual(Array(40).fill(200));
    // Bodies that stop after their first chunk went: the asker tells the owner, which drops them.
    const url = new URL(viaA());
    const broken = Array.from({ length: 10 }, () => {
      const socket = tcpConnect(Number(url.port), '127.0.0.1');
      socket.write(`POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n${pings.slice(0, 100_000)}`);
      return socket;
    });
    expect(await eventually(async () => ((await relayPending(instances[0])) as { carrying: number }).carrying > 0, true)).toBe(true);
    for (const socket of broken) socket.destroy();
    expect(await eventually(() => Promise.all(instances.map(relayPending)), IDLE)).toEqual(IDLE);
    // The connection still serves its client.
    expect(
      (await request(viaA(), { method: 'POST', body: `${JSON.stringify({ type: 1, invocationId: '9', target: 'WhoAmI', arguments: [] })}${RS}` })).status,
    ).toBe(200);
    expect((await request(viaA())).body.toString()).toContain('"invocationId":"9"');
  });
  // Last: it leaves one instance.
  it('the asking instance killed while the owner holds its poll: the owner lets the poll go and keeps the data for the next', async () => {
    const [a, b] = instances;
    const { connectionToken } = await negotiate(b.url(`${HUB}?user=orphan`));
    const onA = a.url(`${HUB}?user=orphan&id=${encodeURIComponent(connectionToken)}`);
    expect((await request(onA)).status).toBe(200);
    expect((await request(onA, { method: 'POST', body: HANDSHAKE })).status).toBe(200);
    expect((await request(onA)).body.toString()).toBe(`{}${RS}`);
    // A poll through B, held on A; then B dies with it.
    request(b.url(`${HUB}?user=orphan&id=${encodeURIComponent(connectionToken)}`)).catch(() => undefined);
    expect(await eventually(() => relayPending(a), { carrying: 0, serving: 1 })).toEqual({ carrying: 0, serving: 1 });
    await b.kill();
    expect(await eventually(() => relayPending(a), { carrying: 0, serving: 0 })).toEqual({ carrying: 0, serving: 0 });
    expect(
      (await request(onA, { method: 'POST', body: `${JSON.stringify({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] })}${RS}` })).status,
    ).toBe(200);
    expect((await request(onA)).body.toString()).toContain('"invocationId":"1"');
  });
});

describe('No affinity, carried requests: three instances, one killed mid-run', () => {
  let redis: RedisServer;
  let instances: ClusterInstance[];
  let proxy: NginxProxy;
  const opened: HubConnection[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const env = { CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64'), ACK_TIMEOUT: '3000' };
    instances = await Promise.all([startInstance(redis.url, env), startInstance(redis.url, env), startInstance(redis.url, env)]);
    proxy = await startNginx(instances.map((instance) => instance.port));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(opened.map((connection) => connection.stop().catch(() => undefined)));
    await proxy?.stop();
    await killInstances();
    await redis?.close();
  });

  it('every transport keeps serving: the killed owner’s clients reconnect through the proxy, the others go on', async () => {
    const members = TRANSPORTS.map(([name, transport, protocol], index) => member(proxy.url(`${HUB}?user=k-${index}`), `${name}`, transport, protocol(), true));
    for (const { connection } of members) {
      opened.push(connection);
      await connection.start();
    }
    await Promise.all(members.map((one) => one.connection.invoke('WhoAmI')));
    // The instance that holds the long-polling JSON client's connection (its first poll, answered at once, was logged first) is the one killed.
    const polled = (await proxy.requests()).find((entry) => entry.method === 'GET' && entry.uri.includes('user=k-3&'))!;
    await instances[polled.upstream].kill();
    // Whatever each client had on the killed instance, every one of them is connected again and served.
    for (const one of members) {
      expect(await servedAfterKill(one)).toBe(one.connection.connectionId);
      expect(await upper(one.connection, ['after'])).toEqual(['AFTER']);
    }
    expect(members.map((one) => one.connection.state)).toEqual(members.map(() => HubConnectionState.Connected));
    expect(members[3].reconnected).toBe(true);
    await members[0].connection.invoke('All', 'after-kill');
    await waitUntil(() => members.every((one) => one.hits.includes('after-kill')), 10_000);
    expect(members.map((one) => one.hits.filter((label) => label === 'after-kill').length)).toEqual(members.map(() => 1));
  });
});
