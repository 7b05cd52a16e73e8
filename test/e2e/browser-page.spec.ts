import { describeInBrowser, listShows, SamplePage, textShows, useSampleBrowser } from '../support/browser.js';

/** Page globals used by the functions run in Chromium (the project compiles without the DOM library). */
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number };
  getElementById(id: string): { textContent: string | null; value: string } | null;
};

/**
 * The sample page as a new user meets it in Chromium: on a phone, before logging in, and when
 * something goes wrong (the server's refusals show as their message, each where it belongs, and
 * nothing is echoed as sent that was not).
 */
describeInBrowser('browser-page.spec.ts')('sample page in Chromium: phone, anonymous start, errors', () => {
  const sample = useSampleBrowser();
  const { newPage, open } = sample;
  const PHONE = { width: 390, height: 844 };

  /** The page's width of content: wider than its window means sideways scrolling. */
  const scrollWidth = ({ page }: SamplePage) => page.evaluate(() => document.documentElement.scrollWidth);

  async function submit({ page }: SamplePage, fields: Record<string, string>, button: string): Promise<void> {
    for (const [id, value] of Object.entries(fields)) await page.fill(`#${id}`, value);
    await page.click(button);
  }

  it('fits a 390 px phone: no sideways scrolling, anonymous or signed in with orders, long lines and the dialog', async () => {
    const visitor = await newPage({ webSocket: true, viewport: PHONE });
    expect(await scrollWidth(visitor)).toBeLessThanOrEqual(PHONE.width);

    const bob = await open('bob', { webSocket: true, viewport: PHONE });
    await submit(bob, { item: 'A very long item name, Difference engine number two' }, '#orders button:not(#subscribe)');
    await bob.page.waitForSelector('#order-list li button:has-text("Cancel")');
    await submit(bob, { message: 'x'.repeat(150) }, '#send-all button');
    await listShows(bob, 'chat', [[`bob: ${'x'.repeat(150)}`, '']]);
    expect(await scrollWidth(bob)).toBeLessThanOrEqual(PHONE.width);

    // The confirmation dialog fits as well.
    await bob.page.click('#order-list li button:has-text("Cancel")');
    await bob.page.waitForSelector('#confirm:not([hidden])');
    expect(await scrollWidth(bob)).toBeLessThanOrEqual(PHONE.width);
    const dialog = (await bob.page.locator('#confirm .dialog').boundingBox())!;
    expect(dialog.x).toBeGreaterThanOrEqual(0);
    expect(dialog.x + dialog.width).toBeLessThanOrEqual(PHONE.width);
    await bob.page.click('#confirm-no');
    await bob.page.waitForFunction(() => /^bob declined cancelling order '\d+'\.$/.test(document.getElementById('order-error')!.textContent!));
    expect(await scrollWidth(bob)).toBeLessThanOrEqual(PHONE.width);
    expect(visitor.problems).toEqual([]);
    expect(bob.problems).toEqual([expect.stringMatching(/^response: 409 POST \/orders\/\d+\/cancel$/)]);
  });

  it('connects anonymously as it loads: chat and dashboard work without logging in', async () => {
    const visitor = await newPage({ webSocket: true }); // resolves once it shows "connected as anonymous", without a click
    const other = await newPage({ webSocket: true });
    expect(visitor.sockets.map((url) => new URL(url).pathname).sort()).toEqual(['/hubs/chat', '/hubs/dashboard']);
    expect(await visitor.page.isDisabled('#logout')).toBe(true);
    await textShows(visitor, 'dashboard-status', 'live');
    await submit(visitor, { message: 'hello from nobody in particular' }, '#send-all button');
    await listShows(other, 'chat', [['anonymous: hello from nobody in particular', '']]);
    for (const page of [visitor, other]) expect(page.problems).toEqual([]);
  });

  it("shows a server's refusal as the HubException's message only", async () => {
    const ada = await open('ada', { webSocket: true });
    await submit(ada, { message: '   ' }, '#send-all button');
    await submit(ada, { room: 'attic' }, '#leave');
    await listShows(ada, 'chat', [
      ["You are not in room 'attic'.", 'error'],
      ['Message must not be empty.', 'error'],
    ]);
    expect(ada.problems).toEqual([]);
  });

  it('does not echo a private message to a user who is online nowhere: it shows why instead', async () => {
    const ada = await open('ada', { webSocket: true });
    await submit(ada, { to: 'nobody', 'private-message': 'are you there?' }, '#send-private button');
    await listShows(ada, 'chat', [['No user named nobody is online.', 'error']]);
    // Sent to a user who is online, it is delivered and echoed.
    const bob = await open('bob', { webSocket: true });
    await submit(ada, { to: 'bob', 'private-message': 'now you are' }, '#send-private button');
    await listShows(bob, 'chat', [['(private) ada: now you are', 'private']]);
    await listShows(ada, 'chat', [
      ['(private to bob) now you are', 'private'],
      ['bob connected', 'notice'],
      ['No user named nobody is online.', 'error'],
    ]);
    for (const page of [ada, bob]) expect(page.problems).toEqual([]);
  });

  it('refuses an empty feed line without echoing it, and the feed goes on', async () => {
    const ada = await open('ada', { webSocket: true });
    const bob = await open('bob', { webSocket: true });
    await submit(ada, { 'feed-line': '   ' }, '#feed button:not(#feed-stop)');
    await listShows(ada, 'feed-list', [['Feed line must not be empty.', 'error']]);
    await submit(ada, { 'feed-line': 'first line' }, '#feed button:not(#feed-stop)');
    await submit(ada, { 'feed-line': '' }, '#feed button:not(#feed-stop)');
    await submit(ada, { 'feed-line': 'second line' }, '#feed button:not(#feed-stop)');
    await listShows(bob, 'feed-list', [
      ['ada: second line', ''],
      ['ada: first line', ''],
      ['ada started sharing', 'notice'],
    ]);
    await listShows(ada, 'feed-list', [
      ['you: second line', 'mine'],
      ['Feed line must not be empty.', 'error'],
      ['you: first line', 'mine'],
      ['you started sharing', 'notice'],
      ['Feed line must not be empty.', 'error'],
    ]);
    for (const page of [ada, bob]) expect(page.problems).toEqual([]);
  });

  it("shows the orders' errors in their own place, not among what was received", async () => {
    const bob = await open('bob', { webSocket: true });
    await submit(bob, { item: '  ' }, '#orders button:not(#subscribe)');
    await textShows(bob, 'order-error', "'item' must be a non-empty string.");
    await bob.page.click('#subscribe');
    await listShows(bob, 'notifications', [['subscribed to every order', 'notice']]);
    await textShows(bob, 'order-error', ''); // what works clears the error
    expect(bob.problems).toEqual(['response: 400 POST /orders']);
  });
});
