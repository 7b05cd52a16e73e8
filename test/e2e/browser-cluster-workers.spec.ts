import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { CHROMIUM, describeInBrowser, LAUNCH_ARGS, listShows, logIn, openSamplePage, SamplePage } from '../support/browser.js';
import { SampleCluster, startSampleCluster } from '../support/sample-cluster.js';

/**
 * The page of `npm run start:cluster` (two workers of Node's `cluster` module on one port) in
 * Chromium: it names the worker that served it and connects every hub with negotiate, whatever
 * worker each request reaches (issue 18): a WebSocket on the worker after its negotiate's, and a
 * page without WebSockets on Server-Sent Events, whose POSTs reach either worker and are carried to
 * the one holding the stream. Chat crosses the workers.
 */
describeInBrowser('browser-cluster-workers.spec.ts')('sample page served by the workers of npm run start:cluster', () => {
  let cluster: SampleCluster;
  let browser: Browser;
  const pages: SamplePage[] = [];

  beforeAll(async () => {
    [cluster, browser] = await Promise.all([startSampleCluster(2), chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS })]);
  });
  afterAll(async () => {
    await Promise.all(pages.map(({ context }) => context.close()));
    await browser?.close();
    await cluster?.stop();
  });

  it('names its worker, connects with negotiate on WebSockets or Server-Sent Events, and chats across the workers', async () => {
    const ada = await openSamplePage(browser, `http://127.0.0.1:${cluster.port}/`, { webSocket: true });
    pages.push(ada);
    await logIn(ada, 'ada');
    const bob = await openSamplePage(browser, `http://127.0.0.1:${cluster.port}/`, { webSocket: false });
    pages.push(bob);
    await logIn(bob, 'bob');
    const served = await Promise.all([ada, bob].map(({ page }) => page.textContent('#instance')));
    expect(served).toEqual([
      expect.stringMatching(new RegExp(`^instance 127\\.0\\.0\\.1:${cluster.port}, page from worker [12]$`)),
      expect.stringMatching(/, page from worker [12]$/),
    ]);

    // Negotiate, then a WebSocket (ada) or an event stream and its POSTs (bob), for each hub.
    const hubs = ['chat', 'dashboard', 'notifications'];
    for (const sample of [ada, bob]) {
      const negotiates = sample.hubRequests.filter(({ url }) => /^\/hubs\/\w+\/negotiate\?/.test(url)).map(({ url }) => url.split('/')[2]);
      expect([...negotiates].sort()).toEqual(hubs);
    }
    expect(ada.sockets.map((url) => new URL(url).pathname).sort()).toEqual(hubs.map((hub) => `/hubs/${hub}`));
    expect(bob.sockets).toEqual([]);
    expect(bob.hubRequests.filter(({ method, url }) => method === 'POST' && url.startsWith('/hubs/chat?id=')).length).toBeGreaterThan(0);

    await ada.page.fill('#message', 'hello, other worker');
    await ada.page.click('#send-all button');
    await listShows(bob, 'chat', [['ada: hello, other worker', '']]);
    await bob.page.fill('#to', 'ada');
    await bob.page.fill('#private-message', 'psst');
    await bob.page.click('#send-private button');
    await listShows(ada, 'chat', [
      ['(private) bob: psst', 'private'],
      ['ada: hello, other worker', ''],
      ['bob connected', 'notice'],
    ]);
    expect([...ada.problems, ...bob.problems]).toEqual([]);
  });
});
