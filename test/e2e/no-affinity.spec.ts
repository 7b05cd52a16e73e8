import { HttpTransportType, HubConnection, HubConnectionBuilder, HubConnectionState, IHubProtocol, JsonHubProtocol, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { randomBytes } from 'crypto';
import { ConnectionHandler, SignalRModule, type OnRawConnection, type RawConnection } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { ClusterHub, clusterIdentity } from '../fixtures/cluster.hub.js';
import { startApp, type TestApp } from '../support/app.js';
import { EventStream, negotiate, request } from '../support/http.js';
import { type NginxProxy, type ProxiedRequest, startNginx } from '../support/nginx.js';
import { type ProxiedCluster, startProxiedCluster, stopProxiedCluster } from '../support/proxied-cluster.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { ClusterInstance, killInstances, RedisServer, startInstance, startRedis } from '../support/redis.js';
import { waitUntil } from '../support/wait.js';

const HUB = '/hubs/cluster';

/**
 * Issue 18: two instances on one Redis behind nginx doing plain round robin per request, no affinity.
 * Consecutive requests land on alternate instances, so the request that starts a transport never
 * reaches the instance that answered its negotiate; nginx's access log says which instance answered
 * what, and each test checks that it did cross.
 */
describe('No affinity: two instances behind a round-robin proxy', () => {
  let cluster: ProxiedCluster | undefined;
  let instances: ClusterInstance[];
  let proxy: NginxProxy;
  const opened = new Set<HubConnection>();

  beforeAll(async () => {
    cluster = await startProxiedCluster(2, { CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64'), STATEFUL_RECONNECT: '1', PRESENCE_HEARTBEAT: '200' });
    ({ instances, proxy } = cluster);
  }, 60_000);

  afterAll(() => stopProxiedCluster(cluster, opened));

  function client(user: string, protocol: IHubProtocol = new JsonHubProtocol(), skipNegotiation = false): HubConnection {
    const connection = new HubConnectionBuilder()
      .withUrl(proxy.url(`${HUB}?user=${user}`), { transport: HttpTransportType.WebSockets, skipNegotiation })
      .withHubProtocol(protocol)
      .configureLogging(LogLevel.None)
      .build();
    opened.add(connection);
    return connection;
  }

  it.each([
    ['JSON', () => new JsonHubProtocol()],
    ['MessagePack', () => new MessagePackHubProtocol()],
  ])('WebSockets (%s): negotiate answered by one instance, the socket upgraded on the other, one connection', async (name, protocol) => {
    const user = `ws-${name}`;
    const connection = client(user, protocol());
    await connection.start();
    expect(await connection.invoke('WhoAmI')).toBe(connection.connectionId);
    await connection.stop();

    const [negotiated, upgraded] = await proxy.logged(`user=${user}`, (requests) => requests.length === 2);
    expect(negotiated).toMatchObject({ method: 'POST', status: 200 });
    expect(negotiated.uri.startsWith(`${HUB}/negotiate?`)).toBe(true);
    expect(upgraded).toMatchObject({ method: 'GET', status: 101 });
    expect(upgraded.upstream).toBe(1 - negotiated.upstream);
  });

  it.each([
    ['WebSockets', 'WebSockets'],
    ['ServerSentEvents', 'ServerSentEvents'],
    ['LongPolling', 'LongPolling'],
  ] as const)('negotiate version 0 (@aspnet/signalr 1.1), %s: the connection id is the signed token, served from either instance', async (name, transport) => {
    // ASP.NET Core 2.x clients send the connection id where later ones send the token, so the token is the id.
    const legacy = require('@aspnet/signalr') as typeof import('@microsoft/signalr');
    const user = `legacy-${name}`;
    const connection = new legacy.HubConnectionBuilder()
      .withUrl(proxy.url(`${HUB}?user=${user}`), { transport: legacy.HttpTransportType[transport] })
      .configureLogging(legacy.LogLevel.None)
      .build();
    opened.add(connection);
    const hit = new Promise<string>((resolve) => connection.on('hit', resolve));
    await connection.start();
    const id = await connection.invoke<string>('WhoAmI');
    expect(id).toHaveLength(75);
    await connection.invoke('All', `to-${user}`);
    expect(await hit).toBe(`to-${user}`);
    await connection.stop();

    // A request is logged when it ends: the socket and the event stream when the client stops, a long poll's last with its DELETE.
    const ended = (logged: ProxiedRequest[]) => logged.some((request) => request.method === (transport === 'LongPolling' ? 'DELETE' : 'GET'));
    const requests = await proxy.logged(`user=${user}`, ended);
    const negotiated = requests[0];
    const started = requests.find((request) => request.method === 'GET')!;
    expect(negotiated).toMatchObject({ method: 'POST', status: 200 });
    expect(negotiated.uri).not.toContain('negotiateVersion');
    expect(started.uri).toContain(`id=${encodeURIComponent(id)}`);
    expect(started.upstream).toBe(1 - negotiated.upstream);
    // Every request of the connection was answered as if it had reached the instance that holds it.
    expect(requests.filter((request) => request.status >= 400)).toEqual([]);
  });

  it('sends, user targets and broadcasts reach every connection, whichever instance took its socket', async () => {
    const members = ['ada', 'bob', 'ada'].map((user) => {
      const connection = client(user);
      const hits: string[] = [];
      connection.on('hit', (label: string) => hits.push(label));
      return { connection, hits };
    });
    // Each start settles before the test goes on, so no request of this test lands amid the next one's.
    const started = await Promise.allSettled(members.map((member) => member.connection.start()));
    expect(started.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    // A connection's first invocation runs once its instance has subscribed its user's channel.
    await Promise.all(members.map((member) => member.connection.invoke('WhoAmI')));
    await members[1].connection.invoke('User', 'ada', 'to-ada');
    await members[0].connection.invoke('All', 'fence');
    // The user send and the broadcast come from different instances over different channels, so a
    // connection may get them in either order (as with ASP.NET Core's Redis backplane): each gets
    // exactly its own, counted once the fence reached everyone and ada's sends arrived.
    await waitUntil(() => members.every((member) => member.hits.includes('fence')) && members[0].hits.length === 2 && members[2].hits.length === 2);
    expect(members.map((member) => [...member.hits].sort())).toEqual([['fence', 'to-ada'], ['fence'], ['fence', 'to-ada']]);
  });

  it('the connection keeps its user: with its token another user, or anonymous, is refused (403) wherever the socket lands', async () => {
    const { connectionToken } = await negotiate(proxy.url(`${HUB}?user=owner-1`));
    const id = encodeURIComponent(connectionToken);
    expect(await RawSocket.upgradeStatus(proxy.url(`${HUB}?user=intruder-1&id=${id}`))).toBe(403);
    expect(await RawSocket.upgradeStatus(proxy.url(`${HUB}?id=${id}&anonymous-1`))).toBe(403);
    // Refused attempts leave the connection to its user.
    const raw = await RawSocket.handshaken(proxy.url(`${HUB}?user=owner-1&id=${id}`));
    raw.close();

    const [negotiated, upgraded] = await proxy.logged('user=owner-1', (logged) => logged.length === 2);
    const [intruder] = await proxy.logged('user=intruder-1', (logged) => logged.length === 1);
    const [anonymous] = await proxy.logged('anonymous-1', (logged) => logged.length === 1);
    expect([negotiated, intruder, anonymous, upgraded].map((request) => [request.method, request.status])).toEqual([
      ['POST', 200],
      ['GET', 403],
      ['GET', 403],
      ['GET', 101],
    ]);
    expect([intruder.upstream, anonymous.upstream, upgraded.upstream]).toEqual([1 - negotiated.upstream, negotiated.upstream, 1 - negotiated.upstream]);
  });

  it('a token changed in one character names no connection (404) on either instance', async () => {
    const { connectionToken } = await negotiate(proxy.url(`${HUB}?user=forger`));
    const at = Math.floor(connectionToken.length / 2);
    const forged = connectionToken.slice(0, at) + (connectionToken[at] === 'A' ? 'B' : 'A') + connectionToken.slice(at + 1);
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(RawSocket.open(proxy.url(`${HUB}?user=forger&id=${encodeURIComponent(forged)}`))).rejects.toMatchObject({
        status: 404,
        body: 'No Connection with that ID',
      });
    }
    const requests = await proxy.logged('user=forger', (logged) => logged.length === 3);
    expect(new Set(requests.slice(1).map((request) => request.upstream))).toEqual(new Set([0, 1]));
  });

  it('stateful reconnect granted at negotiate holds on the instance the socket reaches: the server acknowledges', async () => {
    const { connectionId, connectionToken, useStatefulReconnect } = (await negotiate(proxy.url(`${HUB}?user=stateful-1&useStatefulReconnect=true`))) as {
      connectionId: string;
      connectionToken: string;
      useStatefulReconnect?: boolean;
    };
    expect(useStatefulReconnect).toBe(true);
    const raw = await RawSocket.open(proxy.url(`${HUB}?user=stateful-1&id=${encodeURIComponent(connectionToken)}`));
    raw.sendText(`{"protocol":"json","version":2}${RS}`);
    expect((await raw.nextFrame()).data.toString()).toBe(`{}${RS}`);
    raw.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
    // The Ack comes on the server's once-a-second tick; a connection without stateful reconnect never sends one.
    expect(await raw.nextRecords(2)).toEqual([
      { type: 3, invocationId: '1', result: connectionId },
      { type: 8, sequenceId: 1 },
    ]);
    raw.close();
    const [negotiated, upgraded] = await proxy.logged('user=stateful-1', (logged) => logged.length === 2);
    expect(upgraded.upstream).toBe(1 - negotiated.upstream);
  });

  it('a client that skips negotiation connects on whichever instance its socket reaches', async () => {
    const connection = client('skipper', new JsonHubProtocol(), true);
    await connection.start();
    expect(typeof (await connection.invoke('WhoAmI'))).toBe('string');
    await connection.stop();
  });

  it('Server-Sent Events and Long Polling start on the instance their first request reaches, for the user the token binds', async () => {
    const [a, b] = instances;
    const sse = await negotiate(a.url(`${HUB}?user=sse-1`));
    expect(
      (await request(b.url(`${HUB}?user=intruder-2&id=${encodeURIComponent(sse.connectionToken)}`), { headers: { Accept: 'text/event-stream' } })).status,
    ).toBe(403);
    const stream = await EventStream.open(b.url(`${HUB}?user=sse-1&id=${encodeURIComponent(sse.connectionToken)}`));
    expect(stream.status).toBe(200);
    const post = (body: string) =>
      request(b.url(`${HUB}?user=sse-1&id=${encodeURIComponent(sse.connectionToken)}`), { method: 'POST', body }).then((response) => response.status);
    expect(await post(`{"protocol":"json","version":1}${RS}`)).toBe(200);
    expect(await post(`${JSON.stringify({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] })}${RS}`)).toBe(200);
    await stream.until((text) => text.includes(`{"type":3,"invocationId":"1","result":"${sse.connectionId}"}`));
    stream.close();

    const polling = await negotiate(a.url(`${HUB}?user=lp-1`));
    const url = b.url(`${HUB}?user=lp-1&id=${encodeURIComponent(polling.connectionToken)}`);
    expect((await request(url)).status).toBe(200);
    expect((await request(url, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` })).status).toBe(200);
    expect((await request(url)).body.toString()).toBe(`{}${RS}`);
    expect((await request(url, { method: 'DELETE' })).status).toBe(202);
  });

  // Last: it leaves one instance.
  it('an instance killed takes its connections with it; their clients reconnect through the proxy to the other', async () => {
    const members = ['k1', 'k2', 'k3'].map((user) => {
      const connection = new HubConnectionBuilder()
        .withUrl(proxy.url(`${HUB}?user=${user}`), { transport: HttpTransportType.WebSockets, skipNegotiation: user === 'k2' })
        .withAutomaticReconnect([0, 100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000])
        .configureLogging(LogLevel.None)
        .build();
      opened.add(connection);
      const hits: string[] = [];
      connection.on('hit', (label: string) => hits.push(label));
      return { user, connection, hits, reconnected: false };
    });
    for (const member of members) member.connection.onreconnected(() => (member.reconnected = true));
    // One after the other, so nginx's alternation puts k1's socket on one instance and k2's and k3's on the other.
    for (const member of members) await member.connection.start();
    const before = await Promise.all(members.map((member) => member.connection.invoke<string>('WhoAmI')));

    await instances[1].kill();
    // nginx logs a WebSocket when it closes: those the killed instance held are the ones to come back.
    const killed = (await proxy.logged('user=k', (logged) => logged.some((request) => request.status === 101 && request.upstream === 1)))
      .filter((request) => request.status === 101 && request.upstream === 1)
      .map((request) => /user=(k\d)/.exec(request.uri)![1])
      .sort();
    expect([['k1'], ['k2', 'k3']]).toContainEqual(killed);
    await waitUntil(
      () => members.every((member) => member.reconnected === killed.includes(member.user) && member.connection.state === HubConnectionState.Connected),
      10_000,
    );

    const after = await Promise.all(members.map((member) => member.connection.invoke<string>('WhoAmI')));
    expect(members.map((member, index) => after[index] === before[index])).toEqual(members.map((member) => !killed.includes(member.user)));
    await members[0].connection.invoke('All', 'after-kill');
    await waitUntil(() => members.every((member) => member.hits.includes('after-kill')));
    expect(members.map((member) => member.hits)).toEqual([['after-kill'], ['after-kill'], ['after-kill']]);
  });
});

describe('No affinity: three instances behind a round-robin proxy', () => {
  let redis: RedisServer;
  let proxy: NginxProxy;
  const opened: HubConnection[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const env = { CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64') };
    const instances = await Promise.all([startInstance(redis.url, env), startInstance(redis.url, env), startInstance(redis.url, env)]);
    proxy = await startNginx(instances.map((instance) => instance.port));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(opened.map((connection) => connection.stop().catch(() => undefined)));
    await proxy?.stop();
    await killInstances();
    await redis?.close();
  });

  it('six clients, each socket on another instance than its negotiate, all three holding some; a broadcast reaches each once', async () => {
    const members: Array<{ connection: HubConnection; hits: string[] }> = [];
    for (let index = 0; index < 6; index++) {
      const connection = new HubConnectionBuilder()
        .withUrl(proxy.url(`${HUB}?user=three-${index}`), { transport: HttpTransportType.WebSockets })
        .configureLogging(LogLevel.None)
        .build();
      opened.push(connection);
      const hits: string[] = [];
      connection.on('hit', (label: string) => hits.push(label));
      await connection.start();
      // Its first invocation runs once its instance has subscribed its channels.
      expect(await connection.invoke('WhoAmI')).toBe(connection.connectionId);
      members.push({ connection, hits });
    }
    await members[0].connection.invoke('All', 'to-all');
    await waitUntil(() => members.every((member) => member.hits.length === 1));
    expect(members.map((member) => member.hits)).toEqual(members.map(() => ['to-all']));
    await Promise.all(members.map((member) => member.connection.stop()));

    // nginx logs a WebSocket once it has closed.
    let logged = await proxy.requests();
    for (const deadline = Date.now() + 5000; logged.filter((request) => request.status === 101 && request.uri.includes('user=three-')).length < 6;) {
      if (Date.now() > deadline) throw new Error(`nginx logged ${JSON.stringify(logged)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      logged = await proxy.requests();
    }
    const byClient = [0, 1, 2, 3, 4, 5].map((index) => logged.filter((request) => request.uri.includes(`user=three-${index}&`)));
    const sockets = byClient.map((requests) => requests.find((request) => request.status === 101));
    const negotiates = byClient.map((requests) => requests.find((request) => request.method === 'POST'));
    expect(sockets.every((socket, index) => socket !== undefined && socket.upstream !== negotiates[index]!.upstream)).toBe(true);
    expect(new Set(sockets.map((socket) => socket!.upstream))).toEqual(new Set([0, 1, 2]));
  });
});

/** Greets with its connection id, then echoes in upper case. */
@ConnectionHandler('/raw/echo')
class EchoHandler implements OnRawConnection {
  async onConnected(connection: RawConnection): Promise<void> {
    connection.send(`hello ${connection.connectionId}`);
    for await (const message of connection) connection.send(typeof message === 'string' ? message.toUpperCase() : message);
  }
}

@ConnectionHandler('/raw/other')
class OtherHandler extends EchoHandler {}

describe('No affinity without a proxy: raw connection handlers of apps in one process', () => {
  const SECRET = randomBytes(32);
  const apps: TestApp[] = [];
  const start = (connectionTokenSecret?: Buffer) =>
    startApp({ imports: [SignalRModule.forRoot({ connectionTokenSecret })], providers: [EchoHandler, OtherHandler] }).then((app) => (apps.push(app), app));

  afterAll(() => Promise.all(apps.map((app) => app.close())));

  it('a token negotiated on one app opens its connection on another with the same secret only, and only at its path', async () => {
    const [a, b, otherSecret, noSecret] = [await start(SECRET), await start(SECRET), await start(randomBytes(32)), await start()];
    const { connectionId, connectionToken } = await negotiate(a.url('/raw/echo'));
    const id = encodeURIComponent(connectionToken);
    // With a secret negotiate keeps nothing: the connection is made where its transport arrives.
    expect([a, b].map((app) => app.app.get(SignalRServer).stats().registered)).toEqual([0, 0]);
    for (const app of [otherSecret, noSecret]) {
      await expect(RawSocket.open(app.url(`/raw/echo?id=${id}`))).rejects.toMatchObject({ status: 404, body: 'No Connection with that ID' });
    }
    await expect(RawSocket.open(b.url(`/raw/other?id=${id}`))).rejects.toMatchObject({ status: 404, body: 'No Connection with that ID' });

    const raw = await RawSocket.open(b.url(`/raw/echo?id=${id}`));
    expect((await raw.nextFrame()).data.toString()).toBe(`hello ${connectionId}`);
    raw.sendText('shout');
    expect((await raw.nextFrame()).data.toString()).toBe('SHOUT');
    expect([a, b].map((app) => app.app.get(SignalRServer).stats().registered)).toEqual([0, 1]);
    // A second socket with the token, on the instance that now holds the connection: taken (409).
    await expect(RawSocket.open(b.url(`/raw/echo?id=${id}`))).rejects.toMatchObject({ status: 409 });
    raw.close();
    await raw.closed();
  });
});

describe('The proxy itself: nginx over one instance passes every transport as the instance serves it', () => {
  let app: TestApp;
  let proxy: NginxProxy;

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot(clusterIdentity)], providers: [ClusterHub] });
    proxy = await startNginx([Number(new URL(app.baseUrl).port)]);
  });

  afterAll(async () => {
    await proxy?.stop();
    await app?.close();
  });

  // Unbuffered event streams and long polls: a send reaches the client while its response is still open.
  it.each([
    ['ServerSentEvents', HttpTransportType.ServerSentEvents, () => new JsonHubProtocol()],
    ['LongPolling', HttpTransportType.LongPolling, () => new JsonHubProtocol()],
    ['LongPolling (MessagePack)', HttpTransportType.LongPolling, () => new MessagePackHubProtocol()],
    ['WebSockets', HttpTransportType.WebSockets, () => new JsonHubProtocol()],
  ])('%s: connects, invokes, receives a send and stops', async (_name, transport, protocol) => {
    const connection = new HubConnectionBuilder()
      .withUrl(proxy.url(`${HUB}?user=through-proxy`), { transport })
      .withHubProtocol(protocol())
      .configureLogging(LogLevel.None)
      .build();
    const hits: string[] = [];
    connection.on('hit', (label: string) => hits.push(label));
    await connection.start();
    const id = await connection.invoke<string>('WhoAmI');
    expect(id).toBe(connection.connectionId);
    await connection.invoke('Client', id, 'to-me');
    await waitUntil(() => hits.length === 1);
    expect(hits).toEqual(['to-me']);
    await connection.stop();
  });
});
