import { existsSync } from 'fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { AppModule } from '../../sample/app.module.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { startApp, TestApp } from '../support/app.js';
import { waitUntil } from '../support/wait.js';

/**
 * The sample page in headless Chromium (Debian's `chromium` package, driven by playwright-core, which
 * downloads nothing): the official browser bundle the sample serves, two users chatting, over
 * WebSockets and again in pages without WebSocket, where the client falls back to Server-Sent Events.
 */
const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/**
 * The page globals the functions handed to page.evaluate / waitForFunction use: they run in Chromium,
 * and the project compiles without the DOM library, so they are declared here, for this file only.
 */
declare const window: { WebSocket?: unknown; signalR: { VERSION: string } };
declare const document: {
  getElementById(id: string): { textContent: string | null; value: string } | null;
  querySelectorAll(selector: string): Iterable<{ textContent: string | null }>;
};

const installed = existsSync(CHROMIUM);
if (!installed && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing on CI: .ci/run must install Debian's chromium package (apt-get install -y chromium).`);
}
const describeInBrowser = installed ? describe : describe.skip;
if (!installed) console.warn(`browser.spec.ts skipped: ${CHROMIUM} is not installed (apt-get install chromium); CI always runs it.`);

/** One user's page and what it did on the network. */
interface ChatPage {
  page: Page;
  context: BrowserContext;
  /** URLs of WebSockets the page opened (the sample connects to /hubs/chat and /hubs/notifications). */
  sockets: string[];
  /** HTTP requests to the hubs: method, resource type and path with query. */
  hubRequests: Array<{ method: string; type: string; url: string }>;
  /** Console warnings and errors, and uncaught page errors. */
  problems: string[];
  /** Set once the page logs out: its client is stopping. */
  stopping: boolean;
}

describeInBrowser('sample page in Chromium', () => {
  let app: TestApp;
  let browser: Browser;
  const pages: ChatPage[] = [];

  beforeAll(async () => {
    app = await startApp({ imports: [AppModule] });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map(({ context }) => context.close()));
    const server = app.app.get(SignalRServer);
    await waitUntil(() => server.stats().running === 0 && server.stats().registered === 0);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  async function open(name: string, options: { webSocket: boolean }): Promise<ChatPage> {
    const context = await browser.newContext();
    if (!options.webSocket) await context.addInitScript(() => void delete window.WebSocket);
    const page = await context.newPage();
    const chat: ChatPage = { page, context, sockets: [], hubRequests: [], problems: [], stopping: false };
    pages.push(chat);
    page.on('websocket', (socket) => chat.sockets.push(socket.url()));
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/hubs/')) {
        chat.hubRequests.push({ method: request.method(), type: request.resourceType(), url: url.pathname + url.search });
      }
    });
    page.on('console', (message) => {
      // Failed loads are reported, with their URL, by the response listener below.
      if (message.text().startsWith('Failed to load resource: the server responded with a status of')) return;
      if (message.type() === 'error' || message.type() === 'warning') chat.problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => chat.problems.push(`pageerror: ${error.message}`));
    page.on('response', (response) => {
      if (response.status() < 400) return;
      const url = new URL(response.url());
      const failure = `${response.status()} ${response.request().method()} ${url.pathname}`;
      // On stop() the official client POSTs its Close message without waiting while it closes the event
      // stream, so the POST can reach the server after the connection is gone: 404, as from ASP.NET Core.
      if (chat.stopping && failure === `404 POST ${url.pathname}` && url.pathname.startsWith('/hubs/')) return;
      chat.problems.push(`response: ${failure}`);
    });

    await page.goto(app.url('/'));
    await page.fill('#name', name);
    await page.click('#login button:not(#logout)');
    await page.waitForFunction((who) => document.getElementById('status')!.textContent === `connected as ${who}`, name);
    return chat;
  }

  /** Waits until the page's chat list (newest first) is exactly `expected`; on timeout, says what it holds. */
  async function chatShows({ page }: ChatPage, expected: string[]): Promise<void> {
    const read = () => page.$$eval('#chat li', (items) => items.map((item) => item.textContent));
    try {
      await page.waitForFunction(
        (want) => JSON.stringify([...document.querySelectorAll('#chat li')].map((item) => item.textContent)) === want,
        JSON.stringify(expected),
        { timeout: 5000 },
      );
    } catch {
      expect(await read()).toEqual(expected); // fails with the difference
    }
  }

  async function sendToAll({ page }: ChatPage, text: string): Promise<void> {
    await page.fill('#message', text);
    await page.click('#send-all button');
    await page.waitForFunction(() => document.getElementById('message')!.value === '');
  }

  async function sendPrivate({ page }: ChatPage, to: string, text: string): Promise<void> {
    await page.fill('#to', to);
    await page.fill('#private-message', text);
    await page.click('#send-private button');
    await page.waitForFunction(() => document.getElementById('private-message')!.value === '');
  }

  async function chatBetweenTwo(options: { webSocket: boolean }): Promise<[ChatPage, ChatPage]> {
    const ada = await open('ada', options);
    const bob = await open('bob', options);
    await chatShows(ada, ['bob connected']);

    await sendToAll(ada, 'hello everyone');
    await chatShows(ada, ['ada: hello everyone', 'bob connected']);
    await chatShows(bob, ['ada: hello everyone']);

    await sendPrivate(bob, 'ada', 'psst');
    await chatShows(ada, ['(private) bob: psst', 'ada: hello everyone', 'bob connected']);
    await chatShows(bob, ['(private to ada) psst', 'ada: hello everyone']);

    ada.stopping = true;
    await ada.page.click('#logout');
    await chatShows(bob, ['ada disconnected', '(private to ada) psst', 'ada: hello everyone']);
    await ada.page.waitForFunction(() => document.getElementById('status')!.textContent === 'disconnected');
    return [ada, bob];
  }

  it('loads the official browser client the sample serves', async () => {
    const { page, problems } = await open('ada', { webSocket: true });
    const version = await page.evaluate(() => window.signalR.VERSION);
    expect(version).toBe(require('@microsoft/signalr/package.json').version);
    expect(problems).toEqual([]);
  });

  it('chats over WebSockets: a message to everyone and a private message', async () => {
    const both = await chatBetweenTwo({ webSocket: true });
    for (const [name, chat] of [['ada', both[0]], ['bob', both[1]]] as const) {
      expect([...chat.sockets].sort()).toEqual(
        ['chat', 'notifications'].map((hub) => expect.stringMatching(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/hubs/${hub}\\?user=${name}&id=[^&]+$`))),
      );
      // Only the negotiates travel over HTTP; everything else went through the sockets.
      expect(chat.hubRequests.map(({ method, url }) => `${method} ${url}`).sort()).toEqual([
        `POST /hubs/chat/negotiate?user=${name}&negotiateVersion=1`,
        `POST /hubs/notifications/negotiate?user=${name}&negotiateVersion=1`,
      ]);
      expect(chat.problems).toEqual([]);
    }
  });

  it('falls back to Server-Sent Events in a page without WebSocket, and chats the same', async () => {
    const both = await chatBetweenTwo({ webSocket: false });
    for (const [name, chat] of [['ada', both[0]], ['bob', both[1]]] as const) {
      expect(await chat.page.evaluate(() => typeof window.WebSocket)).toBe('undefined');
      expect(chat.sockets).toEqual([]);
      // Per hub: one negotiate, one event stream, and everything the client sends as POSTs to the stream's URL
      // (the handshake and the invocations at least); nothing else, so no long polling either.
      for (const hub of ['chat', 'notifications']) {
        const requests = chat.hubRequests.filter(({ url }) => url.startsWith(`/hubs/${hub}`));
        const stream = requests.find(({ type }) => type === 'eventsource');
        expect(stream).toEqual({ method: 'GET', type: 'eventsource', url: expect.stringMatching(new RegExp(`^/hubs/${hub}\\?user=${name}&id=[^&]+$`)) });
        const posts = requests.filter(({ method, url }) => method === 'POST' && url === stream!.url);
        expect(posts.length).toBeGreaterThanOrEqual(hub === 'chat' ? 2 : 1);
        expect(requests.map(({ method, url }) => `${method} ${url}`).sort()).toEqual(
          [`POST /hubs/${hub}/negotiate?user=${name}&negotiateVersion=1`, `GET ${stream!.url}`, ...posts.map(() => `POST ${stream!.url}`)].sort(),
        );
      }
      expect(chat.problems).toEqual([]);
    }
  });
});
