import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import { HttpTransportType, HubConnection, HubConnectionBuilder, HubConnectionState, LogLevel } from '@microsoft/signalr';
import { Redis } from 'ioredis';
import { redisBackplane } from '../../src/redis/index.js';
import type { SignalRModuleOptions } from '../../src/index.js';
import { SIGNALR_MODULE_OPTIONS } from '../../src/signalr.module-definition.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { IdentityHub, LastingIdentityHub } from '../fixtures/auth-identity.hubs.js';
import { signalRWithJwt, token } from '../fixtures/auth-tokens.js';
import { startApp, TestApp } from '../support/app.js';
import { negotiate } from '../support/http.js';
import { type ProxiedCluster, startProxiedCluster, stopProxiedCluster } from '../support/proxied-cluster.js';
import { RedisServer, startRedis } from '../support/redis.js';
import { eventually, waitUntil } from '../support/wait.js';

/**
 * @microsoft/signalr 11 can refresh a connection's authentication without reconnecting
 * (`withAuthenticationRefresh()`, `refreshAuthentication()`): it POSTs `{hub}/refresh` with the
 * connection token in `X-SignalR-Connection-Token` and a fresh `Authorization: Bearer`. ASP.NET Core
 * 11 serves that endpoint only with `EnableAuthenticationRefresh` (off by default); this server with
 * `enableAuthenticationRefresh`. Off, the path is not served (404) and negotiate reports no token
 * lifetime: the client never refreshes by itself, an explicit refresh rejects with the client's text
 * for a 404, and the connection and its user stay as they were. On, negotiate reports the token's
 * remaining seconds, a refresh by the connection's own user renews its user and expiry in place (so
 * closeOnAuthenticationExpiration waits for the new token's exp), and anything else gets
 * ASP.NET Core's status and `{ "error": ... }` body.
 */
type Seen = { method: string; path: string; id: string | null; connectionTokenHeader: string | undefined; bearer: boolean };

function recordRequests(app: TestApp, seen: () => Seen[]): void {
  const record = (req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    seen().push({
      method: req.method ?? '',
      path: url.pathname,
      id: url.searchParams.get('id'),
      connectionTokenHeader: req.headers['x-signalr-connection-token'] as string | undefined,
      bearer: /^Bearer ./.test(req.headers.authorization ?? ''),
    });
  };
  app.app.getHttpServer().on('request', record);
  app.app.getHttpServer().on('upgrade', record);
}

/**
 * One app for a describe block, with or without authentication refresh: every request and upgrade it
 * receives is recorded (method, path, the relevant headers and `id`) in `seen`, emptied before each
 * test, and the clients a test puts in `clients` are stopped after it, until no connection runs.
 */
function recordedApp(enableAuthenticationRefresh: boolean, providers: Array<new (...args: never[]) => unknown>) {
  const suite = { app: undefined as unknown as TestApp, seen: [] as Seen[], clients: [] as HubConnection[] };
  beforeAll(async () => {
    suite.app = await startApp({
      imports: [signalRWithJwt({ requireAuthentication: true, closeOnAuthenticationExpiration: true, enableAuthenticationRefresh })],
      providers,
    });
    recordRequests(suite.app, () => suite.seen);
  });
  beforeEach(() => {
    suite.seen = [];
  });
  afterEach(async () => {
    await Promise.all(suite.clients.splice(0).map((client) => client.stop()));
    const server = suite.app.app.get(SignalRServer);
    await waitUntil(() => server.stats().running === 0);
  });
  afterAll(() => suite.app.close());
  return suite;
}

const TRANSPORTS: Array<[string, HttpTransportType]> = [
  ['WebSockets', HttpTransportType.WebSockets],
  ['ServerSentEvents', HttpTransportType.ServerSentEvents],
  ['LongPolling', HttpTransportType.LongPolling],
];

type WhoAmI = { userIdentifier: string; exp: number; transport: string };

function expOf(jwt: string): number {
  return (JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as { exp: number }).exp;
}

describe('authentication refresh of @microsoft/signalr 11 with enableAuthenticationRefresh off (the default): answered as ASP.NET Core with the option off', () => {
  const suite = recordedApp(false, [IdentityHub, LastingIdentityHub]);

  it.each(TRANSPORTS)('over %s: refreshAuthentication() rejects on the 404, the connection and its user stay', async (name, transport) => {
    const client = new HubConnectionBuilder()
      .withUrl(suite.app.url('/hubs/identity'), { transport, accessTokenFactory: () => token({ sub: 'ada' }, { expiresIn: 3600 }) })
      .withAuthenticationRefresh({ refreshBeforeExpirationInMilliseconds: 0 })
      .configureLogging(LogLevel.None)
      .build();
    suite.clients.push(client);
    const failures: string[] = [];
    let refreshed = 0;
    client.onAuthenticationRefreshFailed(({ error }) => failures.push(error.message));
    client.onAuthenticationRefreshed(() => refreshed++);

    await client.start();
    const before = await client.invoke<{ userIdentifier: string; exp: number; transport: string }>('WhoAmI');
    expect(before).toMatchObject({ userIdentifier: 'ada', transport: name });

    await expect(client.refreshAuthentication()).rejects.toThrow(new Error("Unexpected status code returned from authentication refresh '404'"));
    expect(failures).toEqual(["Unexpected status code returned from authentication refresh '404'"]);
    expect(refreshed).toBe(0);

    // What the 11 client sent: one POST to {hub}/refresh, the connection token in a header, a bearer token.
    const transportId = suite.seen.find((request) => request.path === '/hubs/identity' && request.id !== null)!.id;
    expect(suite.seen.filter((request) => request.path.endsWith('/refresh'))).toEqual([
      { method: 'POST', path: '/hubs/identity/refresh', id: null, connectionTokenHeader: transportId, bearer: true },
    ]);

    expect(client.state).toBe(HubConnectionState.Connected);
    await expect(client.invoke('WhoAmI')).resolves.toEqual(before); // same user, same expiry
  });

  it('never refreshes by itself: negotiate reports no token lifetime, so no refresh is scheduled', async () => {
    const negotiated = await fetch(`${suite.app.url('/hubs/identity/negotiate')}?negotiateVersion=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token({ sub: 'ada' }, { expiresIn: 3600 })}` },
    });
    expect(negotiated.status).toBe(200);
    expect(Object.keys((await negotiated.json()) as object).sort()).toEqual(['availableTransports', 'connectionId', 'connectionToken', 'negotiateVersion']);
  });
});

describe('authentication refresh of @microsoft/signalr 11 with enableAuthenticationRefresh on', () => {
  const suite = recordedApp(true, [IdentityHub]);

  /** A client of /hubs/identity whose accessTokenFactory returns `current()` at each call. */
  function client(transport: HttpTransportType, current: () => string, refreshBeforeExpirationInMilliseconds?: number): HubConnection {
    const builder = new HubConnectionBuilder()
      .withUrl(suite.app.url('/hubs/identity'), { transport, accessTokenFactory: current })
      .configureLogging(LogLevel.None);
    const built = (
      refreshBeforeExpirationInMilliseconds === undefined ? builder : builder.withAuthenticationRefresh({ refreshBeforeExpirationInMilliseconds })
    ).build();
    suite.clients.push(built);
    return built;
  }

  /** The connection token the client's transport requests carried. */
  function connectionToken(): string {
    return suite.seen.find((request) => request.path === '/hubs/identity' && request.id !== null)!.id!;
  }

  it.each(TRANSPORTS)('over %s: refreshAuthentication() resolves with the new lifetime, and the connection takes the new token', async (name, transport) => {
    let current = token({ sub: 'ada' }, { expiresIn: 3600 });
    const hub = client(transport, () => current);
    const refreshed: Array<number | undefined> = [];
    hub.onAuthenticationRefreshed(({ newTokenLifetimeInSeconds }) => refreshed.push(newTokenLifetimeInSeconds));
    await hub.start();
    const before = await hub.invoke<WhoAmI>('WhoAmI');
    expect(before).toMatchObject({ userIdentifier: 'ada', exp: expOf(current), transport: name });

    current = token({ sub: 'ada' }, { expiresIn: 7200 });
    const lifetime = await hub.refreshAuthentication();
    // Whole seconds left, truncated as ASP.NET Core does: 7199 unless the refresh took under a millisecond.
    expect(lifetime === 7199 || lifetime === 7200).toBe(true);
    expect(refreshed).toEqual([lifetime]);
    expect(suite.seen.filter((request) => request.path.endsWith('/refresh'))).toEqual([
      { method: 'POST', path: '/hubs/identity/refresh', id: null, connectionTokenHeader: connectionToken(), bearer: true },
    ]);

    // Hub methods see the new token's user (same identifier), and later HTTP requests carry it.
    await expect(hub.invoke('WhoAmI')).resolves.toEqual({ ...before, exp: expOf(current) });
    expect(hub.state).toBe(HubConnectionState.Connected);
  });

  it.each(TRANSPORTS)(
    'over %s: withAuthenticationRefresh() renews a short-lived token before its exp, so closeOnAuthenticationExpiration does not close the connection',
    async (name, transport) => {
      const first = token({ sub: 'ada' }, { expiresIn: 3 });
      const later = token({ sub: 'ada' }, { expiresIn: 3600 });
      let started = false;
      // The negotiate (and the WebSocket's URL) get the short token; only the refresh asks once the connection runs.
      const hub = client(transport, () => (started ? later : first), 2000);
      const closed: Array<Error | undefined> = [];
      hub.onclose((error) => closed.push(error));
      const refreshed = new Promise<{ lifetime: number | undefined }>((resolve) =>
        hub.onAuthenticationRefreshed(({ newTokenLifetimeInSeconds }) => resolve({ lifetime: newTokenLifetimeInSeconds })),
      );
      const ended = new Promise<{ closed: string | undefined }>((resolve) => hub.onclose((error) => resolve({ closed: error?.message })));
      await hub.start();
      started = true;
      await expect(hub.invoke<WhoAmI>('WhoAmI')).resolves.toMatchObject({ userIdentifier: 'ada', exp: expOf(first), transport: name });

      // Negotiate reported ~2 s left (under twice the 2 s margin), so the client refreshes halfway, by itself.
      const outcome = await Promise.race([refreshed, ended]);
      expect(outcome).toEqual({ lifetime: expect.any(Number) as number });
      const { lifetime } = outcome as { lifetime: number };
      expect(lifetime).toBeGreaterThanOrEqual(3598);
      expect(lifetime).toBeLessThanOrEqual(3600);

      // Past the first token's exp and the server's next expiry sweep (at most 1 s later): still open, same user.
      const pastFirstExp = expOf(first) * 1000 + 1500;
      await waitUntil(() => Date.now() > pastFirstExp, 6000);
      expect(hub.state).toBe(HubConnectionState.Connected);
      await expect(hub.invoke<WhoAmI>('WhoAmI')).resolves.toMatchObject({ userIdentifier: 'ada', exp: expOf(later), transport: name });
      expect(closed).toEqual([]);
    },
  );

  it.each(TRANSPORTS)("over %s: another user's token is refused with 403, and the connection keeps its user", async (name, transport) => {
    let current = token({ sub: 'ada' }, { expiresIn: 3600 });
    const hub = client(transport, () => current);
    const failures: string[] = [];
    hub.onAuthenticationRefreshFailed(({ error }) => failures.push(error.message));
    await hub.start();
    const before = await hub.invoke<WhoAmI>('WhoAmI');
    expect(before).toMatchObject({ userIdentifier: 'ada', transport: name });

    current = token({ sub: 'bob' }, { expiresIn: 7200 });
    await expect(hub.refreshAuthentication()).rejects.toThrow(new Error("Unexpected status code returned from authentication refresh '403'"));
    expect(failures).toEqual(["Unexpected status code returned from authentication refresh '403'"]);
    expect(hub.state).toBe(HubConnectionState.Connected);
    await expect(hub.invoke('WhoAmI')).resolves.toEqual(before);
  });

  it("answers ASP.NET Core's statuses and error bodies for what is not a valid refresh, and reports the token lifetime in negotiate", async () => {
    const ada = token({ sub: 'ada' }, { expiresIn: 3600 });
    const negotiated = await fetch(`${suite.app.url('/hubs/identity/negotiate')}?negotiateVersion=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ada}` },
    });
    const body = (await negotiated.json()) as { connectionToken: string; tokenLifetimeSeconds: number };
    expect(Object.keys(body)).toEqual(['negotiateVersion', 'connectionId', 'connectionToken', 'availableTransports', 'tokenLifetimeSeconds']);
    expect(body.tokenLifetimeSeconds === 3599 || body.tokenLifetimeSeconds === 3600).toBe(true);

    const hub = client(HttpTransportType.LongPolling, () => ada);
    await hub.start();
    const live = connectionToken();
    const refresh = async (init: { method?: string; connectionToken?: string; query?: string; bearer?: string }) => {
      const headers: Record<string, string> = {};
      if (init.connectionToken !== undefined) headers['x-signalr-connection-token'] = init.connectionToken;
      if (init.bearer !== undefined) headers.authorization = `Bearer ${init.bearer}`;
      const response = await fetch(`${suite.app.url('/hubs/identity/refresh')}${init.query ?? ''}`, { method: init.method ?? 'POST', headers });
      return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
    };
    const error = (code: string) => ({ type: 'application/json', body: JSON.stringify({ error: code }) });

    await expect(refresh({ method: 'GET', connectionToken: live, bearer: ada })).resolves.toEqual({ status: 405, type: 'text/plain', body: '' });
    await expect(refresh({ bearer: ada })).resolves.toEqual({ status: 400, ...error('missing_connection_token') });
    await expect(refresh({ connectionToken: 'no-such-token', bearer: ada })).resolves.toEqual({ status: 404, ...error('connection_not_found') });
    await expect(refresh({ connectionToken: live })).resolves.toEqual({ status: 401, ...error('invalid_token') });
    await expect(refresh({ connectionToken: live, bearer: token({ sub: 'ada' }, { expiresIn: -10 }) })).resolves.toEqual({
      status: 401,
      ...error('invalid_token'),
    });
    await expect(refresh({ connectionToken: live, bearer: token({ sub: 'bob' }) })).resolves.toEqual({ status: 403, ...error('permission_change_rejected') });
    // The token in `id`, as ASP.NET Core's dispatcher also reads it; a token without exp gets no lifetime.
    await expect(refresh({ query: `?id=${encodeURIComponent(live)}`, bearer: token({ sub: 'ada' }, { expiresIn: null }) })).resolves.toEqual({
      status: 200,
      type: 'application/json',
      body: '{}',
    });
    expect(hub.state).toBe(HubConnectionState.Connected);
  });
});

/** The connection channels Redis has a subscriber for (`internal:transport:{connectionId}`): one per connection an owner listens for. */
async function transportChannels(redis: RedisServer): Promise<number> {
  const inspector = new Redis(redis.url);
  try {
    return ((await inspector.pubsub('CHANNELS', '*internal:transport:*')) as string[]).length;
  } finally {
    inspector.disconnect();
  }
}

/** Two in-process instances on one Redis, sharing a secret: a connection's requests may reach either. */
async function twoInstances(redis: RedisServer, enableAuthenticationRefresh: boolean): Promise<[TestApp, TestApp]> {
  const connectionTokenSecret = randomBytes(32);
  const instance = () =>
    startApp({
      imports: [
        signalRWithJwt({
          requireAuthentication: true,
          enableAuthenticationRefresh,
          connectionTokenSecret,
          backplane: redisBackplane({ url: redis.url }),
        }),
      ],
      providers: [IdentityHub],
    });
  return [await instance(), await instance()];
}

/**
 * Without sticky sessions (connectionTokenSecret and a backplane) a refresh that reaches an instance
 * which does not hold the connection is carried to the one that does, as the HTTP transports' requests
 * are, whatever the transport (a WebSocket connection's owner listens for it only with the option on):
 * the owner renews the connection and its status and body are the client's answer.
 */
describe('authentication refresh on an instance that does not hold the connection (no sticky sessions)', () => {
  let redis: RedisServer;
  let owner: TestApp;
  let other: TestApp;
  let seen: Seen[];
  const clients: HubConnection[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    [owner, other] = await twoInstances(redis, true);
    recordRequests(owner, () => seen);
  }, 30_000);
  beforeEach(() => {
    seen = [];
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
  });
  afterAll(async () => {
    await other?.close();
    await owner?.close();
    await redis?.close();
  });

  async function refresh(app: TestApp, connectionToken: string, bearer: string): Promise<{ status: number; type: string | null; body: string }> {
    const response = await fetch(app.url('/hubs/identity/refresh'), {
      method: 'POST',
      headers: { 'x-signalr-connection-token': connectionToken, authorization: `Bearer ${bearer}` },
    });
    return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
  }

  it.each(TRANSPORTS)(
    "over %s: carried to the owner, which renews the connection and answers 200 with the new lifetime; another user's token gets its 403",
    async (name, transport) => {
      const ada = token({ sub: 'ada' }, { expiresIn: 3600 });
      const hub = new HubConnectionBuilder()
        .withUrl(owner.url('/hubs/identity'), { transport, accessTokenFactory: () => ada })
        .configureLogging(LogLevel.None)
        .build();
      clients.push(hub);
      await hub.start();
      const before = await hub.invoke<WhoAmI>('WhoAmI');
      expect(before).toMatchObject({ userIdentifier: 'ada', exp: expOf(ada), transport: name });
      const live = seen.find((request) => request.path === '/hubs/identity' && request.id !== null)!.id!;
      // The owner listens on its connection's channel, a WebSocket connection's too (the option is on).
      expect(await transportChannels(redis)).toBe(1);

      const later = token({ sub: 'ada' }, { expiresIn: 7200 });
      const renewed = await refresh(other, live, later);
      expect({ status: renewed.status, type: renewed.type }).toEqual({ status: 200, type: 'application/json' });
      const lifetime = (JSON.parse(renewed.body) as { tokenLifetimeSeconds: number }).tokenLifetimeSeconds;
      expect(lifetime).toBeGreaterThanOrEqual(7198);
      expect(lifetime).toBeLessThanOrEqual(7200);
      expect(renewed.body).toBe(JSON.stringify({ tokenLifetimeSeconds: lifetime }));
      // Only the other instance saw it; the connection on the owner took the new token.
      expect(seen.filter((request) => request.path.endsWith('/refresh'))).toEqual([]);
      await expect(hub.invoke('WhoAmI')).resolves.toEqual({ ...before, exp: expOf(later) });

      await expect(refresh(other, live, token({ sub: 'bob' }, { expiresIn: 7200 }))).resolves.toEqual({
        status: 403,
        type: 'application/json',
        body: '{"error":"permission_change_rejected"}',
      });
      await expect(refresh(other, live, token({ sub: 'ada' }, { expiresIn: -10 }))).resolves.toEqual({
        status: 401,
        type: 'application/json',
        body: '{"error":"invalid_token"}',
      });
      await expect(hub.invoke('WhoAmI')).resolves.toEqual({ ...before, exp: expOf(later) });
      expect(hub.state).toBe(HubConnectionState.Connected);

      // Once the connection ended its owner stops listening, and a refresh finds it nowhere.
      await hub.stop();
      expect(await eventually(() => transportChannels(redis), 0)).toBe(0);
      await expect(refresh(other, live, later)).resolves.toEqual({ status: 404, type: 'application/json', body: '{"error":"connection_not_found"}' });
    },
  );

  /** A POST through `agent`, with whether it went on a socket an earlier request had used. */
  function post(
    agent: http.Agent,
    url: string,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<{ status: number; body: string; reusedSocket: boolean }> {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), reusedSocket: req.reusedSocket }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** What the instance's relay is carrying (as asker) and serving (as owner) now. */
  function relayPending(app: TestApp): { carrying: number; serving: number } {
    const options = app.app.get<typeof SIGNALR_MODULE_OPTIONS, SignalRModuleOptions>(SIGNALR_MODULE_OPTIONS);
    return options.backplane!.connectionRelay!().pending;
  }

  it('a refresh with a 1 MiB body, which nothing reads: the same 200 on the owner and carried from the other instance, the client’s socket free for its next request; nothing stays carried or served', async () => {
    const ada = token({ sub: 'ada' }, { expiresIn: 3600 });
    const hub = new HubConnectionBuilder()
      .withUrl(owner.url('/hubs/identity'), { transport: HttpTransportType.LongPolling, accessTokenFactory: () => ada })
      .configureLogging(LogLevel.None)
      .build();
    clients.push(hub);
    await hub.start();
    const live = seen.find((request) => request.path === '/hubs/identity' && request.id !== null)!.id!;
    const later = token({ sub: 'ada' }, { expiresIn: 7200 });
    const headers = { 'x-signalr-connection-token': live, authorization: `Bearer ${later}` };
    for (const app of [owner, other]) {
      // One kept-alive socket: the request after the big one must find it free, not stalled behind unread bytes.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const big = await post(agent, app.url('/hubs/identity/refresh'), headers, Buffer.alloc(1024 * 1024, 'x'));
        const next = await post(agent, app.url('/hubs/identity/refresh'), headers, Buffer.alloc(0));
        expect([big.status, Object.keys(JSON.parse(big.body) as object), big.reusedSocket]).toEqual([200, ['tokenLifetimeSeconds'], false]);
        expect([next.status, Object.keys(JSON.parse(next.body) as object), next.reusedSocket]).toEqual([200, ['tokenLifetimeSeconds'], true]);
      } finally {
        agent.destroy();
      }
    }
    const idle = [
      { carrying: 0, serving: 0 },
      { carrying: 0, serving: 0 },
    ];
    expect(await eventually(() => Promise.resolve([relayPending(owner), relayPending(other)]), idle)).toEqual(idle);
    await expect(hub.invoke<WhoAmI>('WhoAmI')).resolves.toMatchObject({ userIdentifier: 'ada', exp: expOf(later) });
  });

  it('a token for no connection gets 404 connection_not_found from either instance: a signed one whose connection never started, or none', async () => {
    const ada = token({ sub: 'ada' }, { expiresIn: 3600 });
    const { connectionToken } = await negotiate(other.url('/hubs/identity'), { headers: { authorization: `Bearer ${ada}` } });
    const notFound = { status: 404, type: 'application/json', body: '{"error":"connection_not_found"}' };
    for (const app of [other, owner]) {
      await expect(refresh(app, connectionToken, ada)).resolves.toEqual(notFound);
      await expect(refresh(app, 'no-such-token', ada)).resolves.toEqual(notFound);
    }
  });
});

/** With the option off, a WebSocket connection's owner does not listen for carried requests: no Redis subscription per connection. */
describe('authentication refresh off, without sticky sessions: WebSocket connections cost Redis nothing more', () => {
  let redis: RedisServer;
  let owner: TestApp;
  let other: TestApp;
  const clients: HubConnection[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    [owner, other] = await twoInstances(redis, false);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    await other?.close();
    await owner?.close();
    await redis?.close();
  });

  it('a WebSocket connection subscribes no channel, where an SSE one subscribes its own', async () => {
    const connect = async (transport: HttpTransportType) => {
      const hub = new HubConnectionBuilder()
        .withUrl(owner.url('/hubs/identity'), { transport, accessTokenFactory: () => token({ sub: 'ada' }) })
        .configureLogging(LogLevel.None)
        .build();
      clients.push(hub);
      await hub.start();
      await expect(hub.invoke<WhoAmI>('WhoAmI')).resolves.toMatchObject({ transport: HttpTransportType[transport] });
    };
    await connect(HttpTransportType.WebSockets);
    await connect(HttpTransportType.WebSockets);
    expect(await transportChannels(redis)).toBe(0);
    await connect(HttpTransportType.ServerSentEvents);
    expect(await transportChannels(redis)).toBe(1);
  });
});

/**
 * The official client through a real round-robin proxy (nginx, one request to each instance in turn)
 * in front of two instances in their own processes: every refresh resolves, whichever instance it
 * reached, as its connection's other requests do.
 */
describe('authentication refresh through a round-robin proxy (no sticky sessions)', () => {
  let cluster: ProxiedCluster | undefined;
  const opened = new Set<HubConnection>();

  beforeAll(async () => {
    cluster = await startProxiedCluster(2, { CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64'), AUTHENTICATION_REFRESH: '1' });
  }, 60_000);
  afterAll(() => stopProxiedCluster(cluster, opened));

  it.each(TRANSPORTS)('over %s: refreshAuthentication() resolves six times in a row, from both instances', async (name, transport) => {
    const user = `refresh-${name}`;
    const hub = new HubConnectionBuilder()
      .withUrl(cluster!.proxy.url(`/hubs/cluster?user=${user}`), { transport })
      .configureLogging(LogLevel.None)
      .build();
    opened.add(hub);
    await hub.start();
    const failures: string[] = [];
    hub.onAuthenticationRefreshFailed(({ error }) => failures.push(error.message));
    for (let i = 0; i < 6; i++) await expect(hub.refreshAuthentication()).resolves.toBeUndefined(); // the cluster's users have no exp
    expect(failures).toEqual([]);
    await expect(hub.invoke('WhoAmI')).resolves.toBe(hub.connectionId);
    expect(hub.state).toBe(HubConnectionState.Connected);

    const refreshes = await cluster!.proxy.logged(`refresh?user=${user}`, (entries) => entries.length === 6);
    expect(refreshes.map((entry) => [entry.method, entry.status])).toEqual(Array.from({ length: 6 }, () => ['POST', 200]));
    expect(new Set(refreshes.map((entry) => entry.upstream))).toEqual(new Set([0, 1]));
  });
});
