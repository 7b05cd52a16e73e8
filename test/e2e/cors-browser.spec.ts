import { existsSync } from 'fs';
import http, { Server } from 'http';
import type { AddressInfo } from 'net';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { StaticController } from '../../sample/static.controller.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { RequiredIdentityHub } from '../fixtures/auth-identity.hubs.js';
import { signalRWithJwt, token } from '../fixtures/auth-tokens.js';
import { startApp, TestApp } from '../support/app.js';
import { CHROMIUM, LAUNCH_ARGS, recordPageProblems } from '../support/browser.js';
import { waitUntil } from '../support/wait.js';

/** Page globals used by the functions run in Chromium (the project compiles without the DOM library). */
declare const window: { WebSocket?: unknown };
declare const signalR: any;

/**
 * The official browser client in headless Chromium, on a page from ANOTHER origin (a second HTTP
 * server on another port) that loads the bundle from the app and connects with credentials: the
 * hub requires a user and the only credential is a cookie, so a connection proves the browser
 * accepted the CORS answers for credentialed requests (preflights included) and sent the cookie.
 */

const installed = existsSync(CHROMIUM);
if (!installed && process.env.CI) throw new Error(`${CHROMIUM} is missing on CI: .ci/run must install Debian's chromium package.`);
const describeInBrowser = installed ? describe : describe.skip;

/** A tiny server for the other origin: one page that loads the official bundle from the app. */
async function pageServer(appBaseUrl: string): Promise<{ origin: string; server: Server }> {
  const html = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>other origin</title><script src="${appBaseUrl}/lib/signalr.min.js"></script>`;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html) });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Connects from the page, asks who it is and stops; or reports the error start() rejected with. */
function connectFromPage(hubUrl: string): Promise<{ who?: Record<string, unknown>; error?: string }> {
  return (async () => {
    const connection = new signalR.HubConnectionBuilder().withUrl(hubUrl, { withCredentials: true }).configureLogging(signalR.LogLevel.None).build();
    try {
      await connection.start();
      const who = await connection.invoke('WhoAmI');
      await connection.stop();
      return { who };
    } catch (error) {
      return { error: (error as Error).message };
    }
  })();
}

describeInBrowser('the official browser client from another origin', () => {
  let app: TestApp;
  let browser: Browser;
  let allowed: { origin: string; server: Server };
  let other: { origin: string; server: Server };
  /** Requests the app saw on the hub: method, path and Origin. */
  const seen: string[] = [];

  beforeAll(async () => {
    // The app's port is known only once it listens, and the pages' origins must be known before: the
    // allow-list is a function over a variable filled in next.
    let allowedOrigin = '';
    app = await startApp({
      imports: [signalRWithJwt({ cookie: 'access_token', cors: { origins: (origin: string) => origin === allowedOrigin } })],
      controllers: [StaticController],
      providers: [RequiredIdentityHub],
    });
    allowed = await pageServer(app.baseUrl);
    other = await pageServer(app.baseUrl);
    allowedOrigin = allowed.origin;
    const observe = (req: http.IncomingMessage) => {
      if (req.url?.startsWith('/hubs/')) seen.push(`${req.method} ${req.url.split('?')[0]} ${req.headers.origin}`);
    };
    app.app.getHttpServer().on('request', observe).on('upgrade', observe);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });
  afterEach(async () => {
    seen.length = 0;
    const server = app.app.get(SignalRServer);
    await waitUntil(() => server.stats().running === 0);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    for (const page of [allowed, other]) await new Promise((resolve) => page?.server.close(resolve));
  });

  /** Opens the other origin's page with the session cookie set for the app's host, and connects. */
  async function connectFrom(origin: string, options: { webSocket: boolean }) {
    const context = await browser.newContext();
    try {
      await context.addCookies([{ name: 'access_token', value: token({ sub: 'ada' }), url: app.baseUrl }]);
      if (!options.webSocket) await context.addInitScript(() => void delete window.WebSocket);
      const page = await context.newPage();
      const problems: string[] = [];
      // The page POSTs to the hub only while starting, invoking (both checked by the result) and
      // stopping, so a 404 on such a POST can only be the stop race recordPageProblems describes.
      recordPageProblems(page, problems, () => true);
      await page.goto(`${origin}/`);
      const result = await page.evaluate(connectFromPage, `${app.baseUrl}/hubs/identity-required`);
      return { ...result, problems };
    } finally {
      await context.close();
    }
  }

  it('connects over WebSockets from an allowed origin, with the cookie as credential', async () => {
    const { who, error, problems } = await connectFrom(allowed.origin, { webSocket: true });
    expect(error).toBeUndefined();
    expect(who).toMatchObject({ userIdentifier: 'ada', transport: 'WebSockets', token: 'cookie' });
    expect(problems).toEqual([]);
    // The negotiate POST carries custom headers, so the browser asked first.
    expect(seen).toEqual(
      expect.arrayContaining([
        `OPTIONS /hubs/identity-required/negotiate ${allowed.origin}`,
        `POST /hubs/identity-required/negotiate ${allowed.origin}`,
        `GET /hubs/identity-required ${allowed.origin}`,
      ]),
    );
  });

  it('connects over Server-Sent Events from an allowed origin in a page without WebSocket', async () => {
    const { who, error, problems } = await connectFrom(allowed.origin, { webSocket: false });
    expect(error).toBeUndefined();
    expect(who).toMatchObject({ userIdentifier: 'ada', transport: 'ServerSentEvents', token: 'cookie' });
    expect(problems).toEqual([]);
    // Sends are POSTs to the stream's URL, preflighted too.
    expect(seen).toEqual(expect.arrayContaining([`OPTIONS /hubs/identity-required ${allowed.origin}`, `POST /hubs/identity-required ${allowed.origin}`]));
  });

  it('fails from an origin that is not allowed: the preflight is refused and nothing else is sent', async () => {
    const { who, error } = await connectFrom(other.origin, { webSocket: true });
    expect(who).toBeUndefined();
    expect(error).toBe('Failed to complete negotiation with the server: TypeError: Failed to fetch');
    expect(seen).toEqual([`OPTIONS /hubs/identity-required/negotiate ${other.origin}`]);
    expect(app.app.get(SignalRServer).stats().registered).toBe(0);
  });
});
