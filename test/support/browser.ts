import { existsSync } from 'fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { AppModule } from '../../sample/app.module.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { startApp, TestApp } from './app.js';
import { decodeJwt, SAMPLE_PASSWORDS, SampleUser } from './sample.js';
import { waitUntil } from './wait.js';

/**
 * The page globals the functions handed to page.evaluate / waitForFunction use: they run in Chromium,
 * and the project compiles without the DOM library, so they are declared here, for this file only.
 */
declare const document: {
  getElementById(id: string): { textContent: string | null; value: string } | null;
  querySelectorAll(selector: string): Iterable<{ textContent: string | null; className: string }>;
};

/** Debian's Chromium, which playwright-core drives (it downloads no browser). */
export const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium keeps dialling Google's hosts, which this network refuses. */
export const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `describe` when Chromium is installed; else `describe.skip` with a warning (and an error on CI, which must have it). */
export function describeInBrowser(spec: string): jest.Describe {
  if (existsSync(CHROMIUM)) return describe;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing on CI: .ci/run must install Debian's chromium package (apt-get install -y chromium).`);
  console.warn(`${spec} skipped: ${CHROMIUM} is not installed (apt-get install chromium); CI always runs it.`);
  return describe.skip;
}

/**
 * Records what a page reports as wrong into `problems`: console errors and warnings, page errors, and
 * failed responses with their method and path. One failure is expected and skipped when
 * `isStopping(url)` holds for the request's URL: on stop() the official client POSTs its Close message
 * without waiting while it closes the event stream, so that POST can reach the server after the
 * connection is gone and get 404, as it would from ASP.NET Core.
 */
export function recordPageProblems(page: Page, problems: string[], isStopping: (url: URL) => boolean): void {
  page.on('console', (message) => {
    // Failed loads are reported, with their URL, by the response listener below.
    if (message.text().startsWith('Failed to load resource: the server responded with a status of')) return;
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() < 400) return;
    const url = new URL(response.url());
    const failure = `${response.status()} ${response.request().method()} ${url.pathname}`;
    // A hub's own path (not its negotiate): the sample's /hubs/..., the conformance app's /testhub and the like.
    if (isStopping(url) && failure === `404 POST ${url.pathname}` && !url.pathname.endsWith('/negotiate')) return;
    problems.push(`response: ${failure}`);
  });
}

/**
 * One user's sample page and what it did on the network. The page connects anonymously as it loads;
 * once it logged in (see `logIn`), `sockets` and `hubRequests` hold what it did as that user only.
 */
export interface SamplePage {
  page: Page;
  context: BrowserContext;
  /**
   * URLs of WebSockets the page opened (the sample connects to /hubs/chat and /hubs/dashboard, and once
   * logged in to /hubs/notifications), with an `access_token` shown as `<sub of the token>`.
   */
  sockets: string[];
  /** HTTP requests to the hubs: method, resource type, path with query (tokens as above) and the sub of a bearer header. */
  hubRequests: Array<{ method: string; type: string; url: string; bearer: string | null }>;
  /** Console warnings and errors, and uncaught page errors. */
  problems: string[];
  /** Set once the page logs out: its client is stopping. */
  stopping: boolean;
  /** The `id`s of the connections the page replaced when it logged in: they are stopping. */
  retired: Set<string>;
}

/** How a sample page is opened: with or without WebSocket, and in a window of the given size (1280 × 720 otherwise). */
export interface PageOptions {
  webSocket: boolean;
  viewport?: { width: number; height: number };
}

/**
 * Opens the sample page at `url` in a context of its own, recording what it does, and waits until it
 * is connected anonymously (as it does on load). Without `webSocket`, the page has no WebSocket and
 * its client falls back to Server-Sent Events.
 */
export async function openSamplePage(browser: Browser, url: string, options: PageOptions): Promise<SamplePage> {
  const context = await browser.newContext(options.viewport === undefined ? {} : { viewport: options.viewport });
  if (!options.webSocket) await context.addInitScript(() => void delete (globalThis as { WebSocket?: unknown }).WebSocket);
  const page = await context.newPage();
  const sample: SamplePage = { page, context, sockets: [], hubRequests: [], problems: [], stopping: false, retired: new Set() };
  const retired = (address: URL) => sample.retired.has(address.searchParams.get('id') ?? '');
  page.on('websocket', (socket) => sample.sockets.push(showToken(socket.url())));
  page.on('request', (request) => {
    const url = new URL(showToken(request.url()));
    if (url.pathname.startsWith('/hubs/') && !retired(url)) {
      const bearer = /^Bearer (.+)$/.exec(request.headers()['authorization'] ?? '');
      sample.hubRequests.push({
        method: request.method(),
        type: request.resourceType(),
        url: decodeURIComponent(url.pathname + url.search),
        bearer: bearer === null ? null : String(decodeJwt(bearer[1]).payload.sub),
      });
    }
  });
  recordPageProblems(page, sample.problems, (address) => sample.stopping || retired(address));
  await page.goto(url);
  await textShows(sample, 'status', 'connected as anonymous');
  return sample;
}

/**
 * Logs the page in as `name` with its demo password, through its login form, and waits until it is
 * connected as that user. What the page did anonymously until then is forgotten (its connections
 * join `retired`), so `sockets` and `hubRequests` hold what it does as `name`.
 */
export async function logIn(sample: SamplePage, name: SampleUser): Promise<void> {
  const { page } = sample;
  for (const address of [...sample.sockets, ...sample.hubRequests.map(({ url }) => `http://page${url}`)]) {
    const id = new URL(address).searchParams.get('id');
    if (id !== null) sample.retired.add(id);
  }
  sample.sockets.length = 0;
  sample.hubRequests.length = 0;
  await page.fill('#name', name);
  await page.fill('#password', SAMPLE_PASSWORDS[name]);
  await page.click('#login button:not(#logout)');
  await textShows(sample, 'status', `connected as ${name}`);
}

/** A URL with its `access_token` replaced by `<sub>`, the user the token names. */
export function showToken(address: string): string {
  const url = new URL(address);
  const token = url.searchParams.get('access_token');
  if (token === null) return address;
  return url.toString().replace(/([?&]access_token=)[^&]+/, `$1<${String(decodeJwt(token).payload.sub)}>`);
}

/**
 * The sample app and one Chromium for a describe block; pages opened with `newPage`/`open` are closed
 * after each test, and the server is quiet before the next.
 */
export function useSampleBrowser() {
  const state = { app: undefined as unknown as TestApp, browser: undefined as unknown as Browser };
  const pages: SamplePage[] = [];

  beforeAll(async () => {
    state.app = await startApp({ imports: [AppModule] });
    state.browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });
  afterEach(async () => {
    // Leaving the page first closes its WebSockets cleanly (1001). A context closed under a live page
    // can drop them without a close frame, which the sample's stateful hubs rightly hold open for
    // their re-attach window (15 s) instead of ending them at once.
    await Promise.all(
      pages.splice(0).map(async ({ page, context }) => {
        await page.goto('about:blank').catch(() => undefined);
        await context.close();
      }),
    );
    const server = state.app.app.get(SignalRServer);
    // One full CI run under heavy load still found a connection 5 s after its page left. A socket
    // dropped without its close frame is held for the stateful hubs' 15 s re-attach window, which
    // this wait covers; a connection that never ends still fails it.
    await waitUntil(() => server.stats().running === 0 && server.stats().registered === 0, 20_000);
  }, 30_000);
  afterAll(async () => {
    await state.browser?.close();
    await state.app?.close();
  });

  /** Opens the page in a context of its own, recording what it does; resolves once it is connected anonymously. */
  async function newPage(options: PageOptions): Promise<SamplePage> {
    const sample = await openSamplePage(state.browser, state.app.url('/'), options);
    pages.push(sample);
    return sample;
  }

  /** Opens the page and, unless `name` is `anonymous` (as the page starts), logs in as `name` through its form. */
  async function open(name: SampleUser | 'anonymous', options: PageOptions): Promise<SamplePage> {
    const sample = await newPage(options);
    if (name !== 'anonymous') await logIn(sample, name);
    return sample;
  }

  return {
    get app() {
      return state.app;
    },
    get browser() {
      return state.browser;
    },
    newPage,
    open,
  };
}

/** Waits until the list `listId` (newest first) is exactly `expected`, as [text, class] pairs; on timeout, says what it holds. */
export async function listShows({ page }: SamplePage, listId: string, expected: Array<[string, string]>): Promise<void> {
  const selector = `#${listId} li`;
  const read = () => page.$$eval(selector, (items) => items.map((item) => [item.textContent, item.className]));
  try {
    await page.waitForFunction(
      ([query, want]) => JSON.stringify([...document.querySelectorAll(query)].map((item) => [item.textContent, item.className])) === want,
      [selector, JSON.stringify(expected)] as const,
      { timeout: 5000 },
    );
  } catch {
    expect(await read()).toEqual(expected);
  }
}

/** Waits until the element's text is `expected`; on timeout, fails with what it shows. */
export async function textShows({ page }: SamplePage, id: string, expected: string, timeout = 5000): Promise<void> {
  try {
    await page.waitForFunction(([element, want]) => document.getElementById(element)!.textContent === want, [id, expected] as const, { timeout });
  } catch {
    expect(await page.textContent(`#${id}`)).toBe(expected);
  }
}
