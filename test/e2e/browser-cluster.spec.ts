import { randomBytes } from 'crypto';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { CHROMIUM, describeInBrowser, LAUNCH_ARGS, listShows, logIn, openSamplePage, SamplePage, textShows } from '../support/browser.js';
import { ClusterInstance, killInstances, RedisServer, startRedis, startSampleInstance } from '../support/redis.js';
import { sampleGet, sampleLogin, samplePost, SampleUser } from '../support/sample.js';

/**
 * Two instances of the sample on one Redis, as two machines run it, seen from Chromium: one private
 * redis-server and two sample instances in processes of their own (REDIS_URL set, one JWT_SECRET), one page on each. Each
 * page names the instance that serves it and holds its connections there, and what is sent on one
 * instance reaches the page on the other: a chat message, a private message to a user, a group
 * notification, and the other user's arrival and departure.
 */
describeInBrowser('browser-cluster.spec.ts')('sample cluster in Chromium: two instances on one Redis', () => {
  let redis: RedisServer;
  let first: ClusterInstance;
  let second: ClusterInstance;
  let browser: Browser;
  const pages: SamplePage[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const secret = randomBytes(32).toString('hex');
    [first, second] = await Promise.all([startSampleInstance(redis.url, secret), startSampleInstance(redis.url, secret)]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map(({ context }) => context.close()));
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([first?.stop(), second?.stop()]);
    await killInstances();
    await redis?.close();
  });

  /** Opens the sample page served by `instance` and logs in as `name` through its form. */
  async function open(instance: ClusterInstance, name: SampleUser): Promise<SamplePage> {
    const sample = await openSamplePage(browser, instance.url('/'), { webSocket: true });
    pages.push(sample);
    await logIn(sample, name);
    return sample;
  }

  const texts = (items: string[]): Array<[string, string]> =>
    items.map((text) => [text, text.endsWith('connected') ? 'notice' : text.startsWith('(private') ? 'private' : '']);

  it('each page names its instance, and chat, private messages and order notifications cross to the other', async () => {
    const ada = await open(first, 'ada');
    const bob = await open(second, 'bob');
    await textShows(ada, 'instance', `instance 127.0.0.1:${first.port}`);
    await textShows(bob, 'instance', `instance 127.0.0.1:${second.port}`);
    // Each page's hubs are connected to the instance that served it, not to the other.
    expect([...ada.sockets].sort()).toEqual(
      ['chat', 'dashboard', 'notifications'].map((hub) =>
        expect.stringMatching(new RegExp(`^ws://127\\.0\\.0\\.1:${first.port}/hubs/${hub}\\?id=[^&]+&access_token=<ada>$`)),
      ),
    );
    expect([...bob.sockets].sort()).toEqual(
      ['chat', 'dashboard', 'notifications'].map((hub) =>
        expect.stringMatching(new RegExp(`^ws://127\\.0\\.0\\.1:${second.port}/hubs/${hub}\\?id=[^&]+&access_token=<bob>$`)),
      ),
    );

    // Bob's arrival on the second instance reached ada's page on the first.
    await listShows(ada, 'chat', texts(['bob connected']));

    await ada.page.fill('#message', 'hello from the first instance');
    await ada.page.click('#send-all button');
    await listShows(bob, 'chat', texts(['ada: hello from the first instance']));
    await listShows(ada, 'chat', texts(['ada: hello from the first instance', 'bob connected']));

    // A message to a user reaches that user's connection on the other instance, and nobody else.
    await bob.page.fill('#to', 'ada');
    await bob.page.fill('#private-message', 'psst');
    await bob.page.click('#send-private button');
    await listShows(ada, 'chat', texts(['(private) bob: psst', 'ada: hello from the first instance', 'bob connected']));
    await listShows(bob, 'chat', texts(['(private to ada) psst', 'ada: hello from the first instance']));

    // Ada subscribes to every order (a group) on the first instance; bob's order is shipped on the second.
    await ada.page.click('#subscribe');
    await listShows(ada, 'notifications', [['subscribed to every order', 'notice']]);
    await bob.page.fill('#item', 'Bricks');
    await bob.page.click('#orders button:not(#subscribe)');
    await bob.page.waitForSelector('#order-list li:has-text("Bricks for bob: pending")');
    // Shipped through the orders API by an admin (signed-in owners and admins only).
    const admin = await sampleLogin(second, 'ada');
    const orders = (await (await sampleGet(second, '/orders', admin)).json()) as Array<{ id: string; item: string }>;
    expect(orders.map(({ item }) => item)).toEqual(['Bricks']);
    const shipped = await samplePost(second, `/orders/${orders[0].id}/ship`, undefined, admin);
    expect(shipped.status).toBe(200);
    const notice = `Order #${orders[0].id} (Bricks) for bob has shipped`;
    await listShows(ada, 'notifications', [
      [notice, ''],
      ['subscribed to every order', 'notice'],
    ]);
    await listShows(bob, 'notifications', [[notice, '']]);

    // Bob logs out on the second instance (his page goes on anonymously): the first tells ada.
    bob.stopping = true;
    await bob.page.click('#logout');
    await textShows(bob, 'status', 'connected as anonymous');
    await listShows(ada, 'chat', texts(['bob disconnected', '(private) bob: psst', 'ada: hello from the first instance', 'bob connected']));
    expect(ada.problems).toEqual([]);
    expect(bob.problems).toEqual([]);
  });

  it("cancelling on the first instance asks bob's page on the second (a client result across instances), and one order list serves both", async () => {
    const bob = await open(second, 'bob');
    await bob.page.fill('#item', 'Telescope');
    await bob.page.click('#orders button:not(#subscribe)');
    await bob.page.waitForSelector('#order-list li:has-text("Telescope for bob: pending")');
    // Ada's page on the other instance lists the same order (the orders are in Redis).
    const ada = await open(first, 'ada');
    const row = ada.page.locator('#order-list li', { hasText: 'Telescope for bob: pending' });
    const id = /^#(\d+) /.exec((await row.textContent())!)![1];

    await row.locator('button:has-text("Cancel")').click();
    await textShows(bob, 'confirm-question', `Cancel your order #${id} (Telescope)?`);
    await bob.page.click('#confirm-yes');
    await listShows(bob, 'notifications', [[`Order #${id} (Telescope) for bob was cancelled`, '']]);
    await ada.page.waitForSelector(`#order-list li:has-text("#${id} Telescope for bob: cancelled")`);
    expect(await ada.page.textContent('#order-error')).toBe('');
    expect(ada.problems).toEqual([]);
    expect(bob.problems).toEqual([]);
  });
});
