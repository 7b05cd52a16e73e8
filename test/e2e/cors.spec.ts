import { Test } from '@nestjs/testing';
import http from 'http';
import { SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { AnyOriginHub, AnyOriginWithCredentialsHub, FunctionOriginHub, NoCorsHub } from '../fixtures/auth-cors.hubs.js';
import { IdentityHub } from '../fixtures/auth-identity.hubs.js';
import { createApp, startApp, TestApp } from '../support/app.js';
import { EventStream, negotiate, RawResponse, request } from '../support/http.js';
import { RawSocket, RS } from '../support/raw-socket.js';

const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;
const ALLOWED = 'http://app.example.test:8080';
const EVIL = 'http://evil.example.test';

/** The CORS headers of a response, and nothing else. */
function corsHeaders(response: { headers: RawResponse['headers'] }): Record<string, unknown> {
  return Object.fromEntries(Object.entries(response.headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'));
}

/**
 * The status a raw WebSocket handshake gets (101 when accepted), with the headers given: for the
 * version 8 handshake, whose origin travels in `Sec-WebSocket-Origin`, which the official clients never send.
 */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const key = Buffer.from('sixteen byte key').toString('base64');
    const req = http.request(url, { headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, ...headers }, agent: false });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

const ALLOWED_HEADERS = { 'access-control-allow-origin': ALLOWED, 'access-control-allow-credentials': 'true', vary: 'Origin' };

/** Raw HTTP and WebSocket requests with and without an `Origin`, against the module's and hubs' origin lists. */
describe('origins and CORS', () => {
  let app: TestApp;
  const hub = (path = '/hubs/identity') => app.url(path);

  beforeAll(async () => {
    app = await startApp({
      imports: [SignalRModule.forRoot({ cors: { origins: [`${ALLOWED.toUpperCase()}/`] } })],
      providers: [IdentityHub, AnyOriginHub, FunctionOriginHub, NoCorsHub],
    });
  });
  afterAll(() => app.close());

  /** A negotiated connection's transport URL. */
  async function negotiated(path?: string): Promise<string> {
    return `${hub(path)}?id=${(await negotiate(hub(path))).connectionToken}`;
  }

  it('answers an allowed origin on negotiate with its origin echoed and credentials allowed', async () => {
    const response = await request(`${hub()}/negotiate?negotiateVersion=1`, { method: 'POST', headers: { Origin: ALLOWED } });
    expect(response.status).toBe(200);
    expect(corsHeaders(response)).toEqual(ALLOWED_HEADERS);
    expect(JSON.parse(response.body.toString())).toMatchObject({ negotiateVersion: 1 });
  });

  it('adds the same headers to event streams, polls, sends and deletes from an allowed origin', async () => {
    const streamUrl = await negotiated();
    const stream = await EventStream.open(streamUrl, { Origin: ALLOWED });
    expect(stream.status).toBe(200);
    expect(corsHeaders(stream)).toEqual(ALLOWED_HEADERS);
    const send = await request(streamUrl, { method: 'POST', body: HANDSHAKE, headers: { Origin: ALLOWED } });
    expect({ status: send.status, cors: corsHeaders(send) }).toEqual({ status: 200, cors: ALLOWED_HEADERS });
    await stream.until((text) => text.includes(`data: {}${RS}`));
    stream.close();

    const pollUrl = await negotiated();
    const poll = await request(pollUrl, { headers: { Origin: ALLOWED } });
    expect({ status: poll.status, cors: corsHeaders(poll) }).toEqual({ status: 200, cors: ALLOWED_HEADERS });
    const end = await request(pollUrl, { method: 'DELETE', headers: { Origin: ALLOWED } });
    expect({ status: end.status, cors: corsHeaders(end) }).toEqual({ status: 202, cors: ALLOWED_HEADERS });
  });

  it('refuses another origin with 403 and an empty body on every request, WebSocket upgrades included', async () => {
    const server = app.app.get(SignalRServer);
    const refused = (response: RawResponse) => ({ status: response.status, body: response.body.toString(), cors: corsHeaders(response) });
    const forbidden = { status: 403, body: '', cors: {} };

    const before = server.stats().registered;
    expect(refused(await request(`${hub()}/negotiate?negotiateVersion=1`, { method: 'POST', headers: { Origin: EVIL } }))).toEqual(forbidden);
    expect(server.stats().registered).toBe(before); // nothing was created for it

    const url = await negotiated();
    const stream = await EventStream.open(url, { Origin: EVIL });
    await stream.end();
    expect({ status: stream.status, body: stream.text, cors: corsHeaders(stream) }).toEqual(forbidden);
    expect(refused(await request(url, { headers: { Origin: EVIL } }))).toEqual(forbidden);
    expect(refused(await request(url, { method: 'POST', body: HANDSHAKE, headers: { Origin: EVIL } }))).toEqual(forbidden);
    expect(refused(await request(url, { method: 'DELETE', headers: { Origin: EVIL } }))).toEqual(forbidden);
    await expect(RawSocket.open(url, { Origin: EVIL })).rejects.toMatchObject({ status: 403, body: '' });
    await expect(RawSocket.open(hub(), { Origin: EVIL })).rejects.toMatchObject({ status: 403, body: '' });
    // A version 8 handshake names the page's origin in Sec-WebSocket-Origin instead.
    expect(await upgradeStatus(hub(), { 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Origin': EVIL })).toBe(403);
    expect(await upgradeStatus(hub(), { 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Origin': ALLOWED })).toBe(101);

    // The refused requests left the connection untouched: it still starts, from an allowed origin.
    const socket = await RawSocket.open(url, { Origin: ALLOWED });
    socket.sendText(HANDSHAKE);
    expect((await socket.nextFrame()).data.toString()).toBe(`{}${RS}`);
    socket.close();
  });

  it.each(['/negotiate', ''])('answers a preflight on the hub path%s with 204 and what the official client asks for', async (suffix) => {
    const response = await request(`${hub()}${suffix}?negotiateVersion=1`, {
      method: 'OPTIONS',
      headers: {
        Origin: ALLOWED,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,x-requested-with,x-signalr-user-agent',
      },
    });
    expect({ status: response.status, body: response.body.toString() }).toEqual({ status: 204, body: '' });
    expect(corsHeaders(response)).toEqual({
      'access-control-allow-origin': ALLOWED,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers': 'authorization,content-type,x-requested-with,x-signalr-user-agent',
      'access-control-max-age': '600',
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    });
  });

  it('refuses a preflight from another origin with 403; an OPTIONS that is no preflight is still 405', async () => {
    const preflight = await request(`${hub()}/negotiate`, { method: 'OPTIONS', headers: { Origin: EVIL, 'Access-Control-Request-Method': 'POST' } });
    expect({ status: preflight.status, cors: corsHeaders(preflight) }).toEqual({ status: 403, cors: {} });
    const plain = await request(hub(), { method: 'OPTIONS' });
    expect({ status: plain.status, cors: corsHeaders(plain) }).toEqual({ status: 405, cors: {} });
  });

  it("lets requests without an Origin (non-browser clients) and from the app's own origin through", async () => {
    const anonymous = await request(`${hub()}/negotiate?negotiateVersion=1`, { method: 'POST' });
    expect({ status: anonymous.status, cors: corsHeaders(anonymous) }).toEqual({ status: 200, cors: {} });
    // A page served by the app itself: its Origin is the Host the request went to.
    const sameOrigin = await request(`${hub()}/negotiate?negotiateVersion=1`, { method: 'POST', headers: { Origin: app.baseUrl } });
    expect(sameOrigin.status).toBe(200);
    const socket = await RawSocket.open(hub(), { Origin: app.baseUrl });
    socket.close();
  });

  it("applies a hub's own policy: any origin without credentials, a function, or none at all", async () => {
    const negotiateFrom = (path: string, origin: string) =>
      request(`${hub(path)}/negotiate?negotiateVersion=1`, { method: 'POST', headers: { Origin: origin } });

    // Any origin never goes with credentials: the origin is echoed, and no Allow-Credentials is sent, preflights included.
    const any = await negotiateFrom('/hubs/cors-any', EVIL);
    expect({ status: any.status, cors: corsHeaders(any) }).toEqual({ status: 200, cors: { 'access-control-allow-origin': EVIL, vary: 'Origin' } });
    const anyPreflight = await request(`${hub('/hubs/cors-any')}/negotiate`, {
      method: 'OPTIONS',
      headers: { Origin: EVIL, 'Access-Control-Request-Method': 'POST' },
    });
    expect({ status: anyPreflight.status, credentials: anyPreflight.headers['access-control-allow-credentials'] }).toEqual({
      status: 204,
      credentials: undefined,
    });

    const partner = await negotiateFrom('/hubs/cors-function', 'https://shop.example.com');
    expect({ status: partner.status, origin: partner.headers['access-control-allow-origin'] }).toEqual({ status: 200, origin: 'https://shop.example.com' });
    expect((await negotiateFrom('/hubs/cors-function', 'http://shop.example.com')).status).toBe(403);
    expect((await negotiateFrom('/hubs/cors-function', ALLOWED)).status).toBe(403); // the module's list does not apply here
    await expect(RawSocket.open(hub('/hubs/cors-function'), { Origin: 'https://evil.com' })).rejects.toMatchObject({ status: 403 });
    const preflight = await request(`${hub('/hubs/cors-function')}/negotiate`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://shop.example.com', 'Access-Control-Request-Method': 'POST' },
    });
    expect({
      status: preflight.status,
      maxAge: preflight.headers['access-control-max-age'],
      headers: preflight.headers['access-control-allow-headers'],
    }).toEqual({
      status: 204,
      maxAge: '60',
      headers: undefined, // none requested, none allowed
    });

    // No policy: today's behaviour, whatever the origin.
    const off = await negotiateFrom('/hubs/cors-off', EVIL);
    expect({ status: off.status, cors: corsHeaders(off) }).toEqual({ status: 200, cors: {} });
    const options = await request(`${hub('/hubs/cors-off')}/negotiate`, {
      method: 'OPTIONS',
      headers: { Origin: EVIL, 'Access-Control-Request-Method': 'POST' },
    });
    expect({ status: options.status, cors: corsHeaders(options) }).toEqual({ status: 405, cors: {} });
    const socket = await RawSocket.open(hub('/hubs/cors-off'), { Origin: EVIL });
    socket.close();
  });
});

describe("any origin with credentials (`cors: { origins: '*', credentials: true }`)", () => {
  it.each([
    ['on a hub', { imports: [SignalRModule.forRoot()], providers: [AnyOriginWithCredentialsHub] }],
    ['module-wide', { imports: [SignalRModule.forRoot({ cors: { origins: '*', credentials: true } })], providers: [NoCorsHub, IdentityHub] }],
  ])('fails the bootstrap %s with the reason, as ASP.NET Core refuses the policy', async (_, metadata) => {
    const app = createApp(await Test.createTestingModule(metadata).compile());
    try {
      await expect(app.init()).rejects.toThrow(
        'The CORS protocol does not allow specifying a wildcard (any) origin and credentials at the same time. Configure the CORS policy by listing individual origins (or deciding with a function) if credentials needs to be supported.',
      );
    } finally {
      await app.close();
    }
  });
});
