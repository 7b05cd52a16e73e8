import { IncomingMessage, IncomingHttpHeaders, ServerResponse } from 'http';
import { Socket } from 'net';
import { CorsPolicy, HubCorsOptions } from '../../src/auth/cors-policy.js';
import { LogTexts } from '../../src/signalr.messages.js';

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.net';

/** Node's own request and response objects for one request, with no socket behind them. */
function exchange(method: string, headers: IncomingHttpHeaders) {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.headers = { host: 'hub.example.com', ...headers };
  return { req, res: new ServerResponse(req) };
}

/** What the policy did with one request: whether it answered it, and the response's status and headers. */
function handle(options: HubCorsOptions, method: string, headers: IncomingHttpHeaders) {
  const { req, res } = exchange(method, headers);
  const answered = new CorsPolicy(options).handleRequest(req, res);
  return { answered, ended: res.writableEnded, status: res.statusCode, headers: res.getHeaders() };
}

/**
 * The CORS policy on its own: cors.spec.ts and cors-browser.spec.ts check it over HTTP and in
 * Chromium; these pin each rule (origins, credentials, preflights, '*') in milliseconds.
 */
describe('CorsPolicy', () => {
  describe('an origin list', () => {
    const options: HubCorsOptions = { origins: [`${APP.toUpperCase()}/`, 'http://localhost:4200'] };

    it('leaves requests without an Origin alone (non-browser clients)', () => {
      expect(handle(options, 'POST', {})).toEqual({ answered: false, ended: false, status: 200, headers: {} });
    });

    it('echoes an allowed origin, compared without case or trailing slash, with credentials', () => {
      expect(handle(options, 'POST', { origin: APP })).toEqual({
        answered: false,
        ended: false,
        status: 200,
        headers: { 'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true', vary: 'Origin' },
      });
      expect(handle(options, 'GET', { origin: 'http://LOCALHOST:4200/' }).headers['access-control-allow-origin']).toBe('http://LOCALHOST:4200/');
    });

    it('refuses any other origin with 403 and no CORS headers', () => {
      for (const origin of [EVIL, 'http://app.example.com', 'https://app.example.com:8443', 'null']) {
        expect({ origin, ...handle(options, 'POST', { origin }) }).toEqual({ origin, answered: true, ended: true, status: 403, headers: {} });
      }
    });

    it('allows a same-origin page (its Origin names the request Host) even when not listed', () => {
      const result = handle(options, 'POST', { origin: 'https://hub.example.com' });
      expect(result).toMatchObject({ answered: false, status: 200 });
      expect(result.headers['access-control-allow-origin']).toBe('https://hub.example.com');
      // Another port is another origin.
      expect(handle(options, 'POST', { origin: 'https://hub.example.com:8443' }).status).toBe(403);
    });

    it('answers a preflight with 204, the methods, the requested headers and the max age', () => {
      const result = handle(options, 'OPTIONS', {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': ' x-requested-with, authorization ,x-signalr-user-agent ',
      });
      expect(result).toEqual({
        answered: true,
        ended: true,
        status: 204,
        headers: {
          'access-control-allow-origin': APP,
          'access-control-allow-credentials': 'true',
          vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
          'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
          'access-control-allow-headers': 'x-requested-with, authorization ,x-signalr-user-agent',
          'access-control-max-age': '600',
          'content-length': 0,
        },
      });
    });

    it('echoes no requested headers that are not a plain list of header names', () => {
      for (const requested of ['x-a; x-b', 'x-a,,x-b', 'x-a, (x-b)', '']) {
        const result = handle(options, 'OPTIONS', { origin: APP, 'access-control-request-method': 'GET', 'access-control-request-headers': requested });
        expect({ requested, status: result.status, allowHeaders: result.headers['access-control-allow-headers'] }).toEqual({
          requested,
          status: 204,
          allowHeaders: undefined,
        });
      }
    });

    it('refuses a preflight from an origin it does not allow', () => {
      expect(handle(options, 'OPTIONS', { origin: EVIL, 'access-control-request-method': 'POST' })).toEqual({
        answered: true,
        ended: true,
        status: 403,
        headers: {},
      });
    });

    it('treats OPTIONS without Access-Control-Request-Method as an ordinary request', () => {
      expect(handle(options, 'OPTIONS', { origin: APP })).toEqual({
        answered: false,
        ended: false,
        status: 200,
        headers: { 'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true', vary: 'Origin' },
      });
    });

    it('sends no credentials header with credentials: false, and the max age given', () => {
      const result = handle({ ...options, credentials: false, maxAge: 5 }, 'OPTIONS', { origin: APP, 'access-control-request-method': 'DELETE' });
      expect(result.headers['access-control-allow-credentials']).toBeUndefined();
      expect(result.headers['access-control-max-age']).toBe('5');
      expect(result.headers['access-control-allow-origin']).toBe(APP);
    });
  });

  describe("any origin ('*')", () => {
    it('echoes every origin (never *) and sends no credentials header', () => {
      for (const origin of [APP, EVIL, 'null']) {
        expect(handle({ origins: '*' }, 'POST', { origin })).toEqual({
          answered: false,
          ended: false,
          status: 200,
          headers: { 'access-control-allow-origin': origin, vary: 'Origin' },
        });
      }
    });

    it('refuses credentials: true with ASP.NET Core reason, and accepts credentials: false', () => {
      expect(() => new CorsPolicy({ origins: '*', credentials: true })).toThrow(new Error(LogTexts.corsAnyOriginWithCredentials));
      expect(handle({ origins: '*', credentials: false }, 'GET', { origin: EVIL }).headers['access-control-allow-credentials']).toBeUndefined();
    });
  });

  describe('a function', () => {
    const seen: string[] = [];
    const options: HubCorsOptions = {
      origins: (origin) => {
        seen.push(origin);
        return new URL(origin).hostname.endsWith('.example.com');
      },
    };

    it('decides per origin, as sent, with credentials by default', () => {
      seen.length = 0;
      expect(handle(options, 'POST', { origin: APP }).headers).toEqual({
        'access-control-allow-origin': APP,
        'access-control-allow-credentials': 'true',
        vary: 'Origin',
      });
      expect(handle(options, 'POST', { origin: EVIL }).status).toBe(403);
      expect(seen).toEqual([APP, EVIL]);
    });

    it('allows only on exactly true, not on other truthy values', () => {
      const truthy = { origins: (() => 'yes') as unknown as (origin: string) => boolean };
      expect(handle(truthy, 'POST', { origin: APP }).status).toBe(403);
    });
  });

  describe('WebSocket upgrades', () => {
    const policy = new CorsPolicy({ origins: [APP] });
    const upgrade = (headers: IncomingHttpHeaders) => policy.allowsUpgrade(exchange('GET', headers).req);

    it('lets upgrades without an origin, from an allowed origin and from the same origin through', () => {
      expect([upgrade({}), upgrade({ origin: APP }), upgrade({ origin: 'https://hub.example.com' })]).toEqual([true, true, true]);
    });

    it('refuses other origins, read from Sec-WebSocket-Origin when Origin is absent (version 8 handshakes)', () => {
      expect(upgrade({ origin: EVIL })).toBe(false);
      expect(upgrade({ 'sec-websocket-origin': EVIL })).toBe(false);
      expect(upgrade({ 'sec-websocket-origin': APP })).toBe(true);
      // Origin wins over Sec-WebSocket-Origin.
      expect(upgrade({ origin: EVIL, 'sec-websocket-origin': APP })).toBe(false);
    });
  });
});
