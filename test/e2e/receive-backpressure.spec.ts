import { getHubContextToken, HubContext, SignalRModule } from '../../src/index.js';
import { BlockedHub, HoardingHandler } from '../fixtures/backpressure.hubs.js';
import { startApp, TestApp } from '../support/app.js';
import { EventStream, negotiate, request } from '../support/http.js';
import { RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const HUB = '/hubs/backpressure/blocked';
/** The connection loop's inbound high-water mark (INBOUND_HIGH_WATER): beyond it reading pauses. */
const HIGH_WATER = 64;
/** Messages of ~1 KiB in one 64 KiB socket read: parsed whole before the pause takes effect. */
const PER_CHUNK = 64;
/** ASP.NET Core's StreamBufferCapacity (UPLOAD_BUFFER_CAPACITY). */
const UPLOAD_CAPACITY = 10;

type HttpTransport = 'LongPolling' | 'ServerSentEvents';

/** Long enough for a server that is not held back to read and parse megabytes more. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe.each(['LongPolling', 'ServerSentEvents'] as const)('inbound backpressure over %s', (transport: HttpTransport) => {
  let app: TestApp;
  let hub: BlockedHub;
  const streams: EventStream[] = [];

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [BlockedHub, HoardingHandler] });
    hub = app.app.get(BlockedHub);
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await app.close();
  });
  beforeEach(() => hub.arm());

  /** A raw connection after its handshake: where to POST, whether the server sent a record (a poll, or the event stream), and its end. */
  async function open(): Promise<{ url: string; connectionId: string; received(record: string): Promise<boolean>; stop(): Promise<void> }> {
    const { connectionToken, connectionId } = await negotiate(app.url(HUB));
    const url = `${app.url(HUB)}?id=${encodeURIComponent(connectionToken)}`;
    if (transport === 'LongPolling') {
      await request(url);
      await request(url, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` });
      expect((await request(url)).body.toString()).toBe(`{}${RS}`);
      return {
        url,
        connectionId,
        received: async (record) => (await request(url)).body.toString().includes(record),
        stop: async () => void (await request(url, { method: 'DELETE' })),
      };
    }
    const stream = await EventStream.open(url);
    streams.push(stream);
    await request(url, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` });
    await stream.until((text) => text.includes(`data: {}${RS}`));
    const received = async (record: string) => (await stream.until((text) => text.includes(record))) !== '';
    return { url, connectionId, received, stop: async () => stream.close() };
  }

  it('holds back POSTs of 100 MB of invocations while the hub is blocked: the queue stays within the high-water mark and one read', async () => {
    const { url } = await open();
    await request(url, { method: 'POST', body: `{"type":1,"target":"Block","arguments":[]}${RS}` });
    await hub.blocking;

    const payload = 'p'.repeat(1024);
    const body = Buffer.from(`{"type":1,"target":"Sink","arguments":["${payload}"]}${RS}`.repeat(1000));
    const posts = Math.ceil((100 * 1024 * 1024) / body.length);
    const heapBefore = process.memoryUsage().heapUsed;
    let answered = 0;
    let largestQueue = 0;
    const statuses = new Set<number>();
    const sending = (async () => {
      for (let i = 0; i < posts; i++) {
        statuses.add((await request(url, { method: 'POST', body })).status);
        answered++;
        largestQueue = Math.max(largestQueue, ...hub.queueLengths());
      }
    })();
    sending.catch(() => undefined); // awaited below; a failed test must not leave it unhandled

    await waitUntil(() => hub.queueLengths()[0] > HIGH_WATER, 10_000);
    await settle();
    // Not even the first 1 MB POST is answered: its body is not read further, so the client cannot send more.
    expect(answered).toBe(0);
    expect(hub.queueLengths()[0]).toBeLessThanOrEqual(HIGH_WATER + PER_CHUNK);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);

    hub.open();
    await sending;
    expect([answered, [...statuses]]).toEqual([posts, [200]]);
    expect([hub.sunk, hub.sunkBytes]).toEqual([posts * 1000, posts * 1000 * payload.length]);
    expect(largestQueue).toBeLessThanOrEqual(HIGH_WATER + PER_CHUNK);
  }, 120_000);

  /** Starts `Hoard` (reads nothing until opened) and POSTs one upload item per request until `count` or a refusal. */
  async function hoard(url: string, count: number) {
    await request(url, { method: 'POST', body: `{"type":1,"invocationId":"h","target":"Hoard","arguments":[],"streamIds":["s"]}${RS}` });
    await hub.blocking;
    const statuses: number[] = [];
    const sending = (async () => {
      for (let i = 0; i < count; i++) {
        const status = (await request(url, { method: 'POST', body: `{"type":2,"invocationId":"s","item":${i}}${RS}` })).status;
        statuses.push(status);
        if (status !== 200) return;
      }
      statuses.push((await request(url, { method: 'POST', body: `{"type":3,"invocationId":"s"}${RS}` })).status);
    })();
    sending.catch(() => undefined); // awaited by the test; a failed test must not leave it unhandled
    return { statuses, sending };
  }

  it('holds an upload nobody reads to its 10 items plus the inbound queue: the next POST stays unanswered', async () => {
    const { url, connectionId, received } = await open();
    const { statuses, sending } = await hoard(url, 100);
    // 10 items fill the upload (dispatch then waits for the hub), 64 more fill the inbound queue.
    await waitUntil(() => statuses.length === UPLOAD_CAPACITY + HIGH_WATER, 10_000);
    await settle();
    expect(statuses.length).toBe(UPLOAD_CAPACITY + HIGH_WATER);
    expect(hub.queueLengths()).toEqual([HIGH_WATER + 1]);
    // Server-to-client traffic (polls, the event stream) goes on while the POST is held.
    const context = app.app.get<HubContext>(getHubContextToken(BlockedHub));
    await context.clients.client(connectionId).send('note', 'while held');
    expect(await received(`{"type":1,"target":"note","arguments":["while held"]}${RS}`)).toBe(true);
    expect(statuses.length).toBe(UPLOAD_CAPACITY + HIGH_WATER);

    hub.open();
    await sending;
    expect(statuses).toEqual(Array.from({ length: 101 }, () => 200));
    await waitUntil(() => hub.queueLengths()[0] === 0);
    expect(await received(`{"type":3,"invocationId":"h","result":100}${RS}`)).toBe(true);
  });

  it('answers a POST held back by backpressure when its connection ends, and keeps nothing', async () => {
    const { url, connectionId, stop } = await open();
    const { statuses, sending } = await hoard(url, 100);
    // The 75th item was parsed: its POST is the one held back.
    await waitUntil(() => hub.queueLengths()[0] === HIGH_WATER + 1, 10_000);
    await stop();
    await sending;
    // The held POST is answered once the connection is gone; the next finds no connection.
    expect(statuses.slice(UPLOAD_CAPACITY + HIGH_WATER)).toEqual([200, 404]);
    await expect(hub.lifecycle.disconnected(connectionId)).resolves.toBeUndefined();
  });

  it("holds a raw connection handler that reads nothing to the hub loop's mark (65 queued messages): the next POST stays unanswered", async () => {
    const handler = app.app.get(HoardingHandler);
    handler.arm();
    const path = '/raw/backpressure/hoarder';
    const { connectionToken } = await negotiate(app.url(path));
    const url = `${app.url(path)}?id=${encodeURIComponent(connectionToken)}`;
    if (transport === 'LongPolling') await request(url);
    else streams.push(await EventStream.open(url));
    const statuses: number[] = [];
    const sending = (async () => {
      for (let i = 0; i < 100; i++) statuses.push((await request(url, { method: 'POST', body: String(i) })).status);
      statuses.push((await request(url, { method: 'POST', body: 'end' })).status);
    })();
    sending.catch(() => undefined); // awaited below; a failed test must not leave it unhandled
    // Raw connections pause past the same high-water mark as the hub loop (one transport connection holds it).
    await waitUntil(() => statuses.length === HIGH_WATER + 1, 10_000);
    await settle();
    expect(statuses.length).toBe(HIGH_WATER + 1);

    handler.open();
    await sending;
    expect(statuses).toEqual(Array.from({ length: 101 }, () => 200));
    await waitUntil(() => handler.counts.length === 1);
    expect(handler.counts).toEqual([100]);
  });
});
