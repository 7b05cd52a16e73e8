import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { CHROMIUM, describeInBrowser, LAUNCH_ARGS, listShows, logIn, openSamplePage, SamplePage } from '../support/browser.js';
import { SampleCluster, startSampleCluster } from '../support/sample-cluster.js';

/**
 * The page of `npm run start:cluster` (two workers of Node's `cluster` module on one port) in
 * Chromium: it names the worker that served it and connects every hub with a WebSocket and no
 * negotiate, so each connection stays on the worker its socket reached; chat crosses the workers.
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

  it('names its worker, connects without negotiate, and chats with a page whose hubs are on the other worker', async () => {
    const ada = await openSamplePage(browser, `http://127.0.0.1:${cluster.port}/`, { webSocket: true });
    pages.push(ada);
    await logIn(ada, 'ada');
    const bob = await openSamplePage(browser, `http://127.0.0.1:${cluster.port}/`, { webSocket: true });
    pages.push(bob);
    await logIn(bob, 'bob');
    const served = await Promise.all([ada, bob].map(({ page }) => page.textContent('#instance')));
    expect(served).toEqual([
      expect.stringMatching(new RegExp(`^instance 127\\.0\\.0\\.1:${cluster.port}, page from worker [12]$`)),
      expect.stringMatching(/, page from worker [12]$/),
    ]);

    // No negotiate and no connection id: one socket per hub, which one worker serves from start to end.
    for (const [sample, name] of [
      [ada, 'ada'],
      [bob, 'bob'],
    ] as const) {
      expect(sample.hubRequests).toEqual([]);
      expect([...sample.sockets].sort()).toEqual(
        ['chat', 'dashboard', 'notifications'].map((hub) => `ws://127.0.0.1:${cluster.port}/hubs/${hub}?access_token=<${name}>`),
      );
    }

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
