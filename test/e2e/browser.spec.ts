import { sampleGet, sampleLogin, samplePost } from '../support/sample.js';
import { describeInBrowser, listShows, SamplePage as ChatPage, textShows, useSampleBrowser } from '../support/browser.js';

/**
 * The sample page in headless Chromium (Debian's `chromium` package, driven by playwright-core, which
 * downloads nothing): the official browser bundle the sample serves, two users logging in and chatting,
 * over WebSockets and again in pages without WebSocket, where the client falls back to Server-Sent
 * Events; the admin broadcast, a per-user notification, and what anonymous users and wrong passwords get.
 * browser-live.spec.ts drives the dashboard, the live feed and the confirmation dialog.
 */
/**
 * The page globals the functions handed to page.evaluate / waitForFunction use: they run in Chromium,
 * and the project compiles without the DOM library, so they are declared here, for this file only.
 */
declare const window: { WebSocket?: unknown; signalR: { VERSION: string } };
declare const document: {
  getElementById(id: string): { textContent: string | null; value: string } | null;
  querySelectorAll(selector: string): Iterable<{ textContent: string | null; className: string }>;
};

describeInBrowser('browser.spec.ts')('sample page in Chromium', () => {
  const sample = useSampleBrowser();
  const { newPage, open } = sample;

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

  async function announce({ page }: ChatPage, text: string, level: 'info' | 'warning'): Promise<void> {
    await page.fill('#announcement', text);
    await page.selectOption('#level', level);
    await page.click('#announce button');
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

    // Logged out, ada's page goes on anonymously, which nobody is told about.
    ada.stopping = true;
    await ada.page.click('#logout');
    await chatShows(bob, ['ada disconnected', '(private to ada) psst', 'ada: hello everyone']);
    await ada.page.waitForFunction(() => document.getElementById('status')!.textContent === 'connected as anonymous');
    return [ada, bob];
  }

  /** What the page did as its signed-in user (a bearer header or `access_token`), and anonymously. */
  function partition(chat: ChatPage): [Pick<ChatPage, 'sockets' | 'hubRequests'>, Pick<ChatPage, 'sockets' | 'hubRequests'>] {
    const withToken = (url: string) => url.includes('access_token=');
    const signedIn = (request: ChatPage['hubRequests'][number]) => request.bearer !== null || withToken(request.url);
    return [
      { sockets: chat.sockets.filter(withToken), hubRequests: chat.hubRequests.filter(signedIn) },
      { sockets: chat.sockets.filter((url) => !withToken(url)), hubRequests: chat.hubRequests.filter((request) => !signedIn(request)) },
    ];
  }

  it('loads the official browser client the sample serves', async () => {
    const { page, problems } = await open('ada', { webSocket: true });
    const version = await page.evaluate(() => window.signalR.VERSION);
    expect(version).toBe(require('@microsoft/signalr/package.json').version);
    expect(problems).toEqual([]);
  });

  it('chats over WebSockets: a message to everyone and a private message, with the token the page logged in for', async () => {
    const both = await chatBetweenTwo({ webSocket: true });
    for (const [name, chat] of [
      ['ada', both[0]],
      ['bob', both[1]],
    ] as const) {
      const [signedIn, anonymous] = partition(chat);
      // Ada logged out: her page connected again, anonymously, to the chat and the dashboard.
      expect(anonymous.sockets.sort()).toEqual(
        (name === 'ada' ? ['chat', 'dashboard'] : []).map((hub) => expect.stringMatching(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/hubs/${hub}\\?id=[^&]+$`))),
      );
      // Browsers cannot set headers on WebSockets: the token travels as `access_token` in the URL.
      expect(signedIn.sockets.sort()).toEqual(
        ['chat', 'dashboard', 'notifications'].map((hub) =>
          expect.stringMatching(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/hubs/${hub}\\?id=[^&]+&access_token=<${name}>$`)),
        ),
      );
      // Only the negotiates travel over HTTP, with the token as a bearer header; everything else went through the sockets.
      expect(signedIn.hubRequests.map(({ method, url, bearer }) => `${method} ${url} as ${bearer}`).sort()).toEqual([
        `POST /hubs/chat/negotiate?negotiateVersion=1&useStatefulReconnect=true as ${name}`,
        `POST /hubs/dashboard/negotiate?negotiateVersion=1&useStatefulReconnect=true as ${name}`,
        `POST /hubs/notifications/negotiate?negotiateVersion=1&useStatefulReconnect=true as ${name}`,
      ]);
      expect(chat.problems).toEqual([]);
    }
  });

  it('falls back to Server-Sent Events in a page without WebSocket, and chats the same', async () => {
    const both = await chatBetweenTwo({ webSocket: false });
    for (const [name, chat] of [
      ['ada', both[0]],
      ['bob', both[1]],
    ] as const) {
      expect(await chat.page.evaluate(() => typeof window.WebSocket)).toBe('undefined');
      expect(chat.sockets).toEqual([]);
      const [signedIn, anonymous] = partition(chat);
      // Ada logged out: her page connected again, anonymously, to the chat and the dashboard.
      expect(
        anonymous.hubRequests
          .filter(({ url }) => url.endsWith('/negotiate?negotiateVersion=1&useStatefulReconnect=true'))
          .map(({ url }) => url)
          .sort(),
      ).toEqual(
        name === 'ada'
          ? ['/hubs/chat/negotiate?negotiateVersion=1&useStatefulReconnect=true', '/hubs/dashboard/negotiate?negotiateVersion=1&useStatefulReconnect=true']
          : [],
      );
      // Per hub: one negotiate, one event stream (its token in the URL: EventSource sets no headers), and
      // everything the client sends as POSTs to the connection's URL with a bearer header (the handshake and
      // the invocations at least); nothing else, so no long polling either.
      for (const hub of ['chat', 'dashboard', 'notifications']) {
        const requests = signedIn.hubRequests.filter(({ url }) => url.startsWith(`/hubs/${hub}`));
        const stream = requests.find(({ type }) => type === 'eventsource');
        expect(stream).toEqual({
          method: 'GET',
          type: 'eventsource',
          url: expect.stringMatching(new RegExp(`^/hubs/${hub}\\?id=[^&]+&access_token=<${name}>$`)),
          bearer: null,
        });
        const connectionUrl = stream!.url.replace(`&access_token=<${name}>`, '');
        const posts = requests.filter(({ method, url }) => method === 'POST' && url === connectionUrl);
        // The handshake, and on the chat the invocations, on the dashboard its stream's.
        expect(posts.length).toBeGreaterThanOrEqual(hub === 'notifications' ? 1 : 2);
        expect(requests.map(({ method, url, bearer }) => `${method} ${url} as ${bearer}`).sort()).toEqual(
          [
            `POST /hubs/${hub}/negotiate?negotiateVersion=1&useStatefulReconnect=true as ${name}`,
            `GET ${stream!.url} as null`,
            ...posts.map(() => `POST ${connectionUrl} as ${name}`),
          ].sort(),
        );
      }
      expect(chat.problems).toEqual([]);
    }
  });

  it('lets anonymous users chat, without notifications; refuses a wrong password in the page', async () => {
    const anonymous = await open('anonymous', { webSocket: true });
    const ada = await open('ada', { webSocket: true });
    await sendToAll(anonymous, 'hi, who is there?');
    await chatShows(ada, ['anonymous: hi, who is there?']);
    expect([...anonymous.sockets].sort()).toEqual(
      ['chat', 'dashboard'].map((hub) => expect.stringMatching(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/hubs/${hub}\\?id=[^&]+$`))),
    );
    await anonymous.page.click('#subscribe');
    await textShows(anonymous, 'order-error', 'Log in to get notifications.');
    expect(await anonymous.page.$$eval('#notifications li', (items) => items.length)).toBe(0);
    expect(anonymous.problems).toEqual([]);

    // A wrong password leaves the page as it was: connected anonymously, with the same connections.
    const visitor = await newPage({ webSocket: true });
    const { page, problems, hubRequests, sockets } = visitor;
    const before = { hubRequests: [...hubRequests], sockets: [...sockets] };
    await page.fill('#name', 'ada');
    await page.fill('#password', 'hopper');
    await page.click('#login button:not(#logout)');
    await page.waitForFunction(() => document.getElementById('login-error')!.textContent === 'Invalid username or password.');
    expect(await page.textContent('#status')).toBe('connected as anonymous');
    expect(problems).toEqual(['response: 401 POST /api/auth/login']);
    expect({ hubRequests, sockets }).toEqual(before);
    await sendToAll(visitor, 'still here');
    await chatShows(ada, ['anonymous: still here', 'anonymous: hi, who is there?']);
  });

  it('shows ada’s announcement to everyone and the unauthorized error to bob, in the page', async () => {
    const ada = await open('ada', { webSocket: true });
    const bob = await open('bob', { webSocket: true });
    await announce(ada, 'Deploy at five', 'warning');
    for (const chat of [ada, bob]) await listShows(chat, 'announcements', [['[warning] ada: Deploy at five', 'warning']]);

    await announce(bob, 'I am in charge now', 'info');
    await listShows(bob, 'announcements', [
      ["Failed to invoke 'AdminBroadcast' because user is unauthorized", 'error'],
      ['[warning] ada: Deploy at five', 'warning'],
    ]);
    await announce(ada, '', 'info');
    await listShows(ada, 'announcements', [
      // The HubException's message, without the client's "An unexpected error occurred invoking…" preamble.
      ['text must be longer than or equal to 1 characters', 'error'],
      ['[warning] ada: Deploy at five', 'warning'],
    ]);
    await listShows(bob, 'announcements', [
      ["Failed to invoke 'AdminBroadcast' because user is unauthorized", 'error'],
      ['[warning] ada: Deploy at five', 'warning'],
    ]);
    for (const chat of [ada, bob]) expect(chat.problems).toEqual([]);
  });

  it("notifies the owner's page when their order ships, and no one else's", async () => {
    const bob = await open('bob', { webSocket: true });
    const grace = await open('grace', { webSocket: false });
    await bob.page.fill('#item', 'Bricks');
    await bob.page.click('#orders button:not(#subscribe)');
    await bob.page.waitForFunction(() =>
      [...document.querySelectorAll('#order-list li')].some((item) => item.textContent!.includes('Bricks for bob: pending')),
    );
    const admin = await sampleLogin(sample.app, 'ada');
    const orders = (await (await sampleGet(sample.app, '/orders', admin)).json()) as Array<{ id: string; item: string }>;
    const order = orders.find(({ item }) => item === 'Bricks')!;

    // Shipped from outside the page by an admin, as `curl -X POST -H 'Authorization: Bearer …' /orders/<id>/ship` would.
    expect((await samplePost(sample.app, `/orders/${order.id}/ship`, undefined, admin)).status).toBe(200);
    await listShows(bob, 'notifications', [[`Order #${order.id} (Bricks) for bob has shipped`, '']]);
    // Grace's page got nothing: what was sent to her connection before has arrived once a later call returns.
    await grace.page.click('#subscribe');
    await listShows(grace, 'notifications', [['subscribed to every order', 'notice']]);
    for (const chat of [bob, grace]) expect(chat.problems).toEqual([]);
  });
});
