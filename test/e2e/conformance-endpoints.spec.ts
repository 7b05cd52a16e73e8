import { HttpTransportType, type HubConnection } from '@microsoft/signalr';
import {
  getUserAgentHeader,
  hubClient,
  JSON_VARIANTS,
  outcome,
  startConformanceApp,
  startedClient,
  stopClients,
  VARIANTS,
} from '../conformance/official-client.js';
import { DefaultHubLifetimeManager } from '../../src/lifetime/default-hub-lifetime-manager.js';
import { SignalRHubRegistry } from '../../src/signalr.registry.js';
import { TestHub } from '../conformance/test.hub.js';
import type { TestApp } from '../support/app.js';
import { UNAUTHORIZED } from '../support/client.js';
import { negotiate, request } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

/** What the JS client's start() reports for /bad-negotiate (section 8.3). */
const BAD_NEGOTIATE = "Failed to complete negotiation with the server: Error: Some response from server: Status code '400'";

/** Resolves when the client reconnects, with the new connection id. */
function reconnected(connection: HubConnection): Promise<string | undefined> {
  return new Promise((resolve) => connection.onreconnected((id) => resolve(id)));
}

/** What ASP.NET Core's functional tests do to force a reconnect: the client's own server-timeout path. */
function induceReconnect(connection: HubConnection): void {
  (connection as unknown as { serverTimeout(): void }).serverTimeout();
}

/**
 * The conformance app's other hubs and non-hub endpoints (section 8.3 of the protocol reference):
 * JWT, redirects, bad negotiate, cookies and headers, client results over HTTP, CORS and
 * case-insensitive paths, with the official client where it can express the case.
 */
describe('Conformance app: /authorizedhub, /testhub-nowebsockets and the HTTP endpoints', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startConformanceApp();
  });
  afterEach(() => stopClients());
  afterAll(() => app.close());

  const token = async () => (await fetch(app.url('/generateJwtToken'))).text();

  it('/generateJwtToken returns a plain-text HS256 JWT for testuser (NameIdentifier), valid for 5 seconds', async () => {
    const response = await fetch(app.url('/generateJwtToken'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const [header, payload] = (await response.text())
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload.nameid).toBe('testuser');
    expect(payload.exp - payload.iat).toBe(5);
  });

  describe.each(JSON_VARIANTS)('/authorizedhub, $name', (variant) => {
    it('accepts the token from /generateJwtToken (a token factory, sync or async)', async () => {
      const jwt = await token();
      const connection = await startedClient(app.url('/authorizedhub'), variant, { accessTokenFactory: () => jwt });
      expect(await connection.invoke('Echo', '你好，世界！')).toBe('你好，世界！');
      expect(await connection.invoke('GetUserNameIdentifier')).toBe('testuser');
      expect(await connection.invoke('GetUserClaim', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier')).toBe('testuser');
      const viaAsyncFactory = await startedClient(app.url('/authorizedhub'), variant, { accessTokenFactory: token });
      expect(await viaAsyncFactory.invoke('Echo', 'async')).toBe('async');
    });

    it('refuses a client without a token, or with a forged one, with the 401 text', async () => {
      expect(await outcome(hubClient(app.url('/authorizedhub'), variant).start())).toBe(UNAUTHORIZED);
      const forged = (await token()).slice(0, -4) + 'AAAA';
      expect(await outcome(hubClient(app.url('/authorizedhub'), variant, { accessTokenFactory: () => forged }).start())).toBe(UNAUTHORIZED);
    });
  });

  it('/authorizedhub takes the token from the access_token query as well as the header; a 401 has an empty body', async () => {
    const jwt = await token();
    const negotiate = (suffix: string, headers: Record<string, string> = {}) =>
      request(app.url(`/authorizedhub/negotiate?negotiateVersion=1${suffix}`), { method: 'POST', headers });
    expect((await negotiate(`&access_token=${jwt}`)).status).toBe(200);
    expect((await negotiate('', { Authorization: `Bearer ${jwt}` })).status).toBe(200);
    const refused = await negotiate('');
    expect([refused.status, refused.body.length]).toEqual([401, 0]);
  });

  it('/bad-negotiate fails the client’s start with the server’s text and status', async () => {
    expect(await outcome(hubClient(app.url('/bad-negotiate'), null).start())).toBe(BAD_NEGOTIATE);
    const response = await request(app.url('/bad-negotiate/negotiate?negotiateVersion=1'), { method: 'POST' });
    expect([response.status, response.body.toString()]).toEqual([400, 'Some response from server']);
  });

  it('/redirect sends the client to /testHub with an increasing numRedirects, and a reconnect negotiates again', async () => {
    const connection = hubClient(app.url(`/redirect?numRedirects=0&baseUrl=${app.baseUrl}`), null, {}, (builder) => builder.withAutomaticReconnect());
    expect(connection.connectionId).toBeNull();
    await connection.start();
    expect(await connection.invoke('GetCallerConnectionId')).toBe(connection.connectionId);
    const before = await connection.invoke<number>('GetNumRedirects');
    expect(before).toBeGreaterThan(0);

    const firstId = connection.connectionId;
    const again = reconnected(connection);
    induceReconnect(connection);
    const newId = await again;
    expect(newId).not.toBe(firstId);
    expect(await connection.invoke('GetCallerConnectionId')).toBe(newId);
    expect(await connection.invoke('GetNumRedirects')).toBe(before + 1);
    await connection.stop();
    expect(connection.connectionId).toBeNull();
  });

  it('/redirect answers exactly as the ASP.NET Core app, with the counter shared by every client', async () => {
    const url = app.url(`/redirect/negotiate?numRedirects=0&baseUrl=${encodeURIComponent('http://elsewhere:1')}&negotiateVersion=1`);
    const first = await request(url, { method: 'POST' });
    const second = await request(url, { method: 'POST' });
    const n = Number(/numRedirects=(\d+)/.exec(first.body.toString())![1]);
    expect(first.body.toString()).toBe(`{ "url": "http://elsewhere:1/testHub?numRedirects=${n}" }`);
    expect(second.body.toString()).toBe(`{ "url": "http://elsewhere:1/testHub?numRedirects=${n + 1}" }`);
  });

  it('a client that skipped negotiation reconnects (and has no connection id)', async () => {
    const connection = hubClient(app.url('/testhub'), VARIANTS[0], { skipNegotiation: true }, (builder) => builder.withAutomaticReconnect());
    await connection.start();
    expect(connection.connectionId).toBeNull();
    const again = reconnected(connection);
    induceReconnect(connection);
    expect(await again).toBeUndefined();
    expect(await connection.invoke('Echo', 'test')).toBe('test');
  });

  describe.each(JSON_VARIANTS)('request headers, $name', (variant) => {
    it('GetHeader sees the client’s User-Agent, and custom headers replace the library’s', async () => {
      const [name, value] = getUserAgentHeader();
      const plain = await startedClient(app.url('/testhub'), variant);
      expect(await plain.invoke('GetHeader', name)).toBe(value);
      expect(await plain.invoke('GetHeader', 'X-HEADER')).toBeNull();
      const custom = await startedClient(app.url('/testhub'), variant, { headers: { 'User-Agent': 'Custom Agent', 'X-HEADER': 'VALUE' } });
      expect(await custom.invoke('GetHeader', 'User-Agent')).toBe('Custom Agent');
      expect(await custom.invoke('GetHeader', 'X-HEADER')).toBe('VALUE');
    });
  });

  it('long polling carries the client’s Content-Type on its requests (GetContentTypeHeader)', async () => {
    const connection = await startedClient(app.url('/testhub-nowebsockets'), JSON_VARIANTS[2]);
    expect(await connection.invoke('GetActiveTransportName')).toBe('LongPolling');
    // Node's fetch client labels only requests with a body; the first poll (the connection's request) has none.
    expect(await connection.invoke('GetContentTypeHeader')).toBeNull();
  });

  describe.each(VARIANTS)('/clientresult/{connectionId}, $name', (variant) => {
    const ask = async (id: string) => (await fetch(app.url(`/clientresult/${id}`))).text();

    it('answers with the client’s int, its error, or the missing-handler text', async () => {
      const connection = hubClient(app.url('/testhub'), variant);
      connection.on('Result', () => 10);
      await connection.start();
      expect(await ask(connection.connectionId!)).toBe('10');

      const failing = hubClient(app.url('/testhub'), variant);
      failing.on('Result', () => {
        throw new Error('from callback');
      });
      await failing.start();
      expect(await ask(failing.connectionId!)).toBe('Error: from callback');

      const silent = await startedClient(app.url('/testhub'), variant);
      expect(await ask(silent.connectionId!)).toBe("Client didn't provide a result.");
    });
  });

  it("/clientresult has no time limit, as ASP.NET Core's: a client that goes away ends it; a caller that gives up cancels the call", async () => {
    const pending = () => (app.app.get(SignalRHubRegistry).lifetimeFor(TestHub) as DefaultHubLifetimeManager).pendingClientResults;
    const { connectionId, connectionToken } = await negotiate(app.url('/testhub'));
    const silent = await RawSocket.handshaken(app.url(`/testhub?id=${connectionToken}`)); // reads the Invocation, never answers

    // The caller gives up: the call is canceled, nothing stays pending, the connection is unaffected.
    const caller = new AbortController();
    const abandoned = fetch(app.url(`/clientresult/${connectionId}`), { signal: caller.signal }).catch((error: Error) => error.name);
    expect(await silent.nextMessage()).toEqual({ type: 1, invocationId: expect.any(String), target: 'Result', arguments: [] });
    expect(pending()).toBe(1);
    caller.abort();
    expect(await abandoned).toBe('AbortError');
    await waitUntil(() => pending() === 0);

    // The client goes away: the answer is ASP.NET Core's text for it, with 200.
    const asked = fetch(app.url(`/clientresult/${connectionId}`));
    expect(await silent.nextMessage()).toMatchObject({ type: 1, target: 'Result' });
    silent.close();
    const answer = await asked;
    expect({ status: answer.status, text: await answer.text() }).toEqual({ status: 200, text: `Connection '${connectionId}' disconnected.` });
    expect(pending()).toBe(0);
  });

  it('/clientresult reaches /testhub-nowebsockets connections too, and names an unknown one', async () => {
    const connection = hubClient(app.url('/testhub-nowebsockets'), JSON_VARIANTS[1]);
    connection.on('Result', () => 10);
    await connection.start();
    expect(await (await fetch(app.url(`/clientresult/${connection.connectionId}`))).text()).toBe('10');
    expect(await (await fetch(app.url('/clientresult/nobody'))).text()).toBe("Connection 'nobody' does not exist.");
  });

  it('/testhub-nowebsockets offers SSE and long polling: JSON gets SSE, MessagePack long polling', async () => {
    const negotiate = await request(app.url('/testhub-nowebsockets/negotiate?negotiateVersion=1'), { method: 'POST' });
    expect(JSON.parse(negotiate.body.toString()).availableTransports.map((t: { transport: string }) => t.transport)).toEqual([
      'ServerSentEvents',
      'LongPolling',
    ]);
    const json = await startedClient(app.url('/testhub-nowebsockets'), null);
    expect(await json.invoke('GetActiveTransportName')).toBe('ServerSentEvents');
    // Every transport allowed: the client skips SSE for a binary protocol and WebSockets is not offered.
    const any = HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling;
    const binary = await startedClient(app.url('/testhub-nowebsockets'), VARIANTS[4], { transport: any });
    expect(await binary.invoke('GetActiveTransportName')).toBe('LongPolling');
  });

  it('negotiate sets the two cookies and an expired one, on any path containing /negotiate', async () => {
    for (const path of ['/testhub/negotiate', '/echo/negotiate', '/authorizedhub/negotiate']) {
      const response = await request(app.url(`${path}?negotiateVersion=1`), { method: 'POST' });
      const cookies = response.headers['set-cookie']!;
      expect(cookies.slice(0, 2)).toEqual(['testCookie=testValue; path=/', 'testCookie2=testValue2; path=/']);
      expect(cookies[2]).toMatch(/^expiredCookie=doesntmatter; expires=\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT; path=\/$/);
      expect(Date.parse(/expires=([^;]+)/.exec(cookies[2])![1])).toBeLessThan(Date.now());
    }
  });

  it('paths match case-insensitively (/testHub, /TESTHUB-NOWEBSOCKETS, /Echo)', async () => {
    const connection = await startedClient(app.url('/TestHub'), VARIANTS[0]);
    expect(await connection.invoke('Echo', 'case')).toBe('case');
    const noWebSockets = await startedClient(app.url('/TESTHUB-NOWEBSOCKETS'), JSON_VARIANTS[2]);
    expect(await noWebSockets.invoke('GetActiveTransportName')).toBe('LongPolling');
    expect((await request(app.url('/Echo/negotiate?negotiateVersion=1'), { method: 'POST' })).status).toBe(200);
  });

  it('any origin is allowed with credentials: hubs, /echo, controllers and the redirect endpoints', async () => {
    const origin = 'http://karma.example:9876';
    const preflight = (path: string) =>
      request(app.url(path), {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-requested-with,x-signalr-user-agent' },
      });
    for (const path of ['/testhub/negotiate?negotiateVersion=1', '/echo/negotiate', '/redirect/negotiate', '/generateJwtToken']) {
      const response = await preflight(path);
      expect([path, response.status]).toEqual([path, 204]);
      expect(response.headers['access-control-allow-origin']).toBe(origin);
      expect(response.headers['access-control-allow-credentials']).toBe('true');
      expect(response.headers['access-control-allow-headers']?.toLowerCase()).toBe('x-requested-with,x-signalr-user-agent');
    }
    for (const [method, path] of [
      ['POST', '/testhub/negotiate?negotiateVersion=1'],
      ['GET', '/generateJwtToken'],
      ['POST', '/bad-negotiate/negotiate'],
    ]) {
      const response = await request(app.url(path), { method, headers: { Origin: origin } });
      expect([path, response.headers['access-control-allow-origin'], response.headers['access-control-allow-credentials']]).toEqual([path, origin, 'true']);
    }
  });
});
