import { HttpTransportType, HubConnection, HubConnectionBuilder, IStreamResult, ISubscription, LogLevel, Subject } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { MetricsService, MetricsSnapshot } from '../../sample/dashboard/metrics.service.js';
import type { Order } from '../../sample/orders/orders.store.js';
import type { TestApp } from '../support/app.js';
import { buildClient, nextCall, TRANSPORTS } from '../support/client.js';
import { createOrder, sampleGet, samplePost, SampleUser, useSampleApp } from '../support/sample.js';
import { waitUntil, Wakeup } from '../support/wait.js';

const HUB_ERROR = (method: string, message: string) => `An unexpected error occurred invoking '${method}' on the server. HubException: ${message}`;

/** Reads a stream's items as they come; `until` resolves with them once `done(items)` holds. */
function follow<T>(result: IStreamResult<T>) {
  const items: T[] = [];
  let ended: { error?: string } | null = null;
  const arrivals = new Wakeup();
  const subscription: ISubscription<T> = result.subscribe({
    next: (item) => {
      items.push(item);
      arrivals.wake();
    },
    complete: () => {
      ended = {};
      arrivals.wake();
    },
    error: (error) => {
      ended = { error: (error as Error).message };
      arrivals.wake();
    },
  });
  const until = async (done: (seen: T[]) => boolean): Promise<T[]> => {
    while (!done(items)) {
      if (ended !== null) throw new Error(`the stream ended (${JSON.stringify(ended)}) after ${JSON.stringify(items)}`);
      await arrivals.next();
    }
    return items;
  };
  return { items, until, dispose: () => subscription.dispose(), ended: () => ended };
}

/**
 * The sample's live features with the official Node client: the dashboard's metrics stream (server to
 * client), the chat's live feed (an upload stream) and the confirmation the orders API asks an owner's
 * browser for before cancelling (a client result).
 */
describe('sample app: dashboard, live feed and confirmations', () => {
  const sample = useSampleApp();
  const tokens = sample.tokens;
  let app: TestApp;
  let metrics: MetricsService;
  beforeAll(() => {
    app = sample.app;
    metrics = app.app.get(MetricsService);
  });

  const start = async (hub: string, user?: SampleUser, setup?: (connection: HubConnection) => void, transport = HttpTransportType.WebSockets) => {
    const connection = buildClient(app.url(`/hubs/${hub}`), user === undefined ? { transport } : { transport, accessTokenFactory: () => tokens[user] });
    setup?.(connection);
    await connection.start();
    return connection;
  };

  /** As ada, an admin, who may ship and cancel anyone's order. */
  const post = (path: string, body?: unknown) => samplePost(app, path, body, tokens.ada);
  const cancel = async (id: string) => {
    const response = await post(`/orders/${id}/cancel`);
    return { status: response.status, body: (await response.json()) as Order & { message?: string } };
  };

  describe('dashboard', () => {
    it('streams a snapshot at once and then one per interval, numbered, until the client disposes', async () => {
      const [, dashboard] = await Promise.all([start('chat', 'ada'), start('dashboard')]);
      await waitUntil(() => metrics.connectionCount('dashboard') === 1 && metrics.connectionCount('chat') === 1);
      const started = metrics.streams.started;
      const stream = follow(dashboard.stream<MetricsSnapshot>('Metrics', 100));
      const items = await stream.until((seen) => seen.length === 3);
      stream.dispose();

      expect(items.map(({ tick }) => tick)).toEqual([1, 2, 3]);
      expect(items[0]).toEqual({
        tick: 1,
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        activeConnections: 2,
        connections: { chat: 1, notifications: 0, dashboard: 1 },
        invocations: { total: expect.any(Number), perSecond: 0 }, // no previous update to measure from
        memoryMb: { rss: expect.any(Number), heapUsed: expect.any(Number) },
        eventLoopLagMs: 0, // nothing sampled yet
        uptimeSeconds: expect.any(Number),
      });
      expect(items[0].memoryMb.heapUsed).toBeGreaterThan(0);
      expect(items[0].memoryMb.rss).toBeGreaterThanOrEqual(items[0].memoryMb.heapUsed);
      const gaps = items.slice(1).map((item, i) => Date.parse(item.at) - Date.parse(items[i].at));
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(99);

      // Disposing cancels the stream on the server: its generator ends and nothing more comes.
      await waitUntil(() => metrics.streams.running === 0);
      expect(metrics.streams.started).toBe(started + 1);
      expect(stream.ended()).toBeNull(); // a disposed subscription gets no completion
    });

    it('counts the invocations (chat messages) since the previous update', async () => {
      const [ada, dashboard] = await Promise.all([start('chat', 'ada'), start('dashboard')]);
      const stream = follow(dashboard.stream<MetricsSnapshot>('Metrics', 100));
      const [first] = await stream.until((seen) => seen.length === 1);
      for (const text of ['one', 'two', 'three']) await ada.invoke('SendMessage', text);
      const items = await stream.until((seen) => seen.at(-1)!.invocations.total === first.invocations.total + 3);
      stream.dispose();
      const totals = items.map(({ invocations }) => invocations.total);
      expect(totals).toEqual([...totals].sort((a, b) => a - b));
      const counted = items.find(({ invocations }) => invocations.total > first.invocations.total)!;
      expect(counted.invocations.perSecond).toBeGreaterThan(0);
      await waitUntil(() => metrics.streams.running === 0);
    });

    it('refuses an interval out of range with the exact message, and starts no stream', async () => {
      const dashboard = await start('dashboard');
      const started = metrics.streams.started;
      const message = HUB_ERROR('Metrics', 'Interval must be a whole number of milliseconds from 100 to 60000.');
      for (const interval of [99, 60_001, 1.5, 'fast']) {
        const stream = follow(dashboard.stream<MetricsSnapshot>('Metrics', interval));
        await expect(stream.until(() => false)).rejects.toThrow(`the stream ended (${JSON.stringify({ error: message })}) after []`);
      }
      expect(metrics.streams.started).toBe(started);
    });

    it('shares one event-loop histogram among all Metrics streams, released with the last of them', async () => {
      const dashboards = await Promise.all([start('dashboard'), start('dashboard')]);
      const streams = dashboards.flatMap((dashboard) => Array.from({ length: 50 }, () => follow(dashboard.stream<MetricsSnapshot>('Metrics', 60_000))));
      for (const stream of streams) await stream.until((seen) => seen.length === 1);
      expect(metrics.streams.running).toBe(100);
      expect({ histograms: metrics.eventLoopLag.running, holders: metrics.eventLoopLag.holderCount }).toEqual({ histograms: 1, holders: 100 });

      for (const stream of streams.slice(1)) stream.dispose();
      await waitUntil(() => metrics.streams.running === 1);
      expect({ histograms: metrics.eventLoopLag.running, holders: metrics.eventLoopLag.holderCount }).toEqual({ histograms: 1, holders: 1 });
      streams[0].dispose();
      await waitUntil(() => metrics.streams.running === 0);
      expect({ histograms: metrics.eventLoopLag.running, holders: metrics.eventLoopLag.holderCount }).toEqual({ histograms: 0, holders: 0 });
    });

    it('ends the stream and forgets the connection when the client stops', async () => {
      const dashboard = await start('dashboard');
      await waitUntil(() => metrics.connectionCount('dashboard') === 1);
      const stream = follow(dashboard.stream<MetricsSnapshot>('Metrics', 100));
      await stream.until((seen) => seen.length === 1);
      expect(metrics.streams.running).toBe(1);
      await dashboard.stop();
      await waitUntil(() => metrics.streams.running === 0 && metrics.connectionCount('dashboard') === 0);
    });
  });

  describe('live feed (upload stream)', () => {
    /** Everything feed-related a connection receives, in order. */
    const recordFeed = (connection: HubConnection) => {
      const events: unknown[][] = [];
      for (const method of ['feedStarted', 'feedLine', 'feedEnded']) connection.on(method, (...args: unknown[]) => events.push([method, ...args]));
      return events;
    };

    it('fans each uploaded line out to everyone else, in order, and returns the count when the upload completes', async () => {
      const [ada, bob, grace] = await Promise.all([start('chat', 'ada'), start('chat', 'bob'), start('chat')]);
      const [adaSaw, bobSaw, graceSaw] = [ada, bob, grace].map(recordFeed);
      const lastLine = [bob, grace].map((connection) => nextCall(connection, 'feedEnded'));

      const lines = new Subject<string>();
      const shared = ada.invoke('ShareFeed', lines);
      lines.next('first line');
      lines.next('  second line  ');
      // The upload holds no invocation slot: the same connection chats while it is open.
      const echo = nextCall(ada, 'message');
      await ada.invoke('SendMessage', 'still chatting');
      expect(await echo).toEqual(['ada', 'still chatting']);
      lines.next('third');
      lines.complete();

      expect(await shared).toBe(3);
      await Promise.all(lastLine);
      const expected = [
        ['feedStarted', 'ada'],
        ['feedLine', 'ada', 'first line'],
        ['feedLine', 'ada', 'second line'],
        ['feedLine', 'ada', 'third'],
        ['feedEnded', 'ada', 3],
      ];
      expect(bobSaw).toEqual(expected);
      expect(graceSaw).toEqual(expected);
      expect(adaSaw).toEqual([]);
    });

    it('refuses a plain argument or a missing stream for the feed (ASP.NET Core binding texts) and shares nothing', async () => {
      const [ada, bob] = await Promise.all([start('chat', 'ada'), start('chat', 'bob')]);
      const bobSaw = recordFeed(bob);
      await expect(ada.invoke('ShareFeed', 'notastream')).rejects.toThrow(new Error("Failed to invoke 'ShareFeed' due to an error on the server."));
      await expect(ada.invoke('ShareFeed')).rejects.toThrow(new Error(HUB_ERROR('ShareFeed', 'Client sent 0 stream(s), Hub method expects 1.')));
      // Bob receives in send order: had the method run, its feedStarted would come before this message.
      const echo = nextCall(bob, 'message');
      await ada.invoke('SendMessage', 'after the refusals');
      expect(await echo).toEqual(['ada', 'after the refusals']);
      expect(bobSaw).toEqual([]);
    });

    it('ends the feed with the exact error on a bad line, telling the others how many lines came', async () => {
      const [anonymous, bob] = await Promise.all([start('chat'), start('chat', 'bob')]);
      const bobSaw = recordFeed(bob);
      const ended = nextCall(bob, 'feedEnded');
      const lines = new Subject<string>();
      const shared = anonymous.invoke('ShareFeed', lines);
      lines.next('fine');
      lines.next('   ');
      await expect(shared).rejects.toThrow(new Error(HUB_ERROR('ShareFeed', 'Feed line must not be empty.')));
      expect(await ended).toEqual(['anonymous', 1]);
      expect(bobSaw).toEqual([
        ['feedStarted', 'anonymous'],
        ['feedLine', 'anonymous', 'fine'],
        ['feedEnded', 'anonymous', 1],
      ]);
      lines.next('ignored: the server completed this upload');
      const echo = nextCall(anonymous, 'message');
      await anonymous.invoke('SendMessage', 'still here');
      expect(await echo).toEqual(['anonymous', 'still here']);
      expect(bobSaw).toHaveLength(3);
    });
  });

  describe.each([
    ...TRANSPORTS.map(([name, transport]) => [name, transport, false] as const),
    ['WebSockets + MessagePack', HttpTransportType.WebSockets, true] as const,
  ])('over %s', (_name, transport, msgpack) => {
    const msgpackClients: HubConnection[] = [];
    afterEach(async () => {
      await Promise.all(msgpackClients.splice(0).map((connection) => connection.stop()));
    });
    const on = async (hub: string, user: SampleUser, setup?: (connection: HubConnection) => void) => {
      if (!msgpack) return start(hub, user, setup, transport);
      const connection = new HubConnectionBuilder()
        .withUrl(app.url(`/hubs/${hub}`), { transport, accessTokenFactory: () => tokens[user] })
        .withHubProtocol(new MessagePackHubProtocol())
        .configureLogging(LogLevel.None)
        .build();
      msgpackClients.push(connection);
      setup?.(connection);
      await connection.start();
      return connection;
    };

    it('streams the dashboard, carries the feed and gets the confirmation', async () => {
      const dashboard = await on('dashboard', 'grace');
      const stream = follow(dashboard.stream<MetricsSnapshot>('Metrics', 100));
      const ticks = await stream.until((seen) => seen.length === 2);
      stream.dispose();
      expect(ticks.map(({ tick, connections }) => [tick, connections.dashboard])).toEqual([
        [1, 1],
        [2, 1],
      ]);

      const [sharer, reader] = await Promise.all([on('chat', 'ada'), on('chat', 'grace')]);
      const ended = nextCall(reader, 'feedEnded');
      const lines = new Subject<string>();
      const shared = sharer.invoke('ShareFeed', lines);
      const firstLine = nextCall(reader, 'feedLine');
      lines.next('over the wire');
      expect(await firstLine).toEqual(['ada', 'over the wire']);
      lines.complete();
      expect(await shared).toBe(1);
      expect(await ended).toEqual(['ada', 1]);

      await on('notifications', 'bob', (connection) => connection.on('Confirm', (question: string) => question.endsWith('(Map)?')));
      const order = await createOrder(app, 'bob', 'Map', tokens.ada);
      expect(await cancel(order.id)).toEqual({ status: 200, body: { ...order, status: 'cancelled' } });
      await waitUntil(() => metrics.streams.running === 0);
    });
  });

  describe('confirmations (client results)', () => {
    /** Bob's notifications, answering each `Confirm` with `answer(question)` and recording the questions. */
    const owner = async (answer: (question: string) => unknown) => {
      const questions: string[] = [];
      const connection = await start('notifications', 'bob', (c) =>
        c.on('Confirm', (question: string) => {
          questions.push(question);
          return answer(question);
        }),
      );
      return { connection, questions };
    };

    it('cancels once the owner’s browser answers true, and tells the owner', async () => {
      const bob = await owner(() => true);
      const order = await createOrder(app, 'bob', 'Lamp', tokens.ada);
      const told = nextCall(bob.connection, 'orderCancelled');
      const cancelled = { ...order, status: 'cancelled' };
      expect(await cancel(order.id)).toEqual({ status: 200, body: cancelled });
      expect(bob.questions).toEqual([`Cancel your order #${order.id} (Lamp)?`]);
      expect(await told).toEqual([cancelled]);
      expect(await cancel(order.id)).toEqual({
        status: 409,
        body: { statusCode: 409, error: 'Conflict', message: `Order '${order.id}' has already been cancelled.` },
      });
      expect((await post(`/orders/${order.id}/ship`)).status).toBe(409);
      expect(bob.questions).toHaveLength(1);
    });

    it('keeps the order when the owner answers false, or answers asynchronously false', async () => {
      const answers = [false, Promise.resolve(false)];
      const bob = await owner(() => answers.shift());
      const order = await createOrder(app, 'bob', 'Kettle', tokens.ada);
      for (let i = 0; i < 2; i++) {
        expect(await cancel(order.id)).toEqual({
          status: 409,
          body: { statusCode: 409, error: 'Conflict', message: `bob declined cancelling order '${order.id}'.` },
        });
      }
      expect(bob.questions).toEqual([`Cancel your order #${order.id} (Kettle)?`, `Cancel your order #${order.id} (Kettle)?`]);
      const shipped = await post(`/orders/${order.id}/ship`);
      expect(shipped.status).toBe(200);
      expect(((await shipped.json()) as Order).status).toBe('shipped');
    });

    it('asks only the owner’s newest connection', async () => {
      const older = await owner(() => false);
      const newer = await owner(() => true);
      const order = await createOrder(app, 'bob', 'Rug', tokens.ada);
      expect((await cancel(order.id)).status).toBe(200);
      expect({ older: older.questions, newer: newer.questions }).toEqual({ older: [], newer: [`Cancel your order #${order.id} (Rug)?`] });
    });

    it('answers 409 with the reason when the owner is offline, the browser fails, has no handler or goes away', async () => {
      const offline = await createOrder(app, 'grace', 'Chair', tokens.ada);
      expect(await cancel(offline.id)).toEqual({
        status: 409,
        body: { statusCode: 409, error: 'Conflict', message: `grace is not online to confirm cancelling order '${offline.id}'.` },
      });

      const order = await createOrder(app, 'bob', 'Desk', tokens.ada);
      const failing = await owner(() => {
        throw new Error('the dialog broke');
      });
      expect((await cancel(order.id)).body.message).toBe(`bob did not confirm cancelling order '${order.id}': Error: the dialog broke`);
      await failing.connection.stop();

      const oldPage = await start('notifications', 'bob'); // a page without a Confirm handler
      expect((await cancel(order.id)).body.message).toBe(`bob did not confirm cancelling order '${order.id}': Client didn't provide a result.`);
      await oldPage.stop();

      let asked: () => void = () => undefined;
      const wasAsked = new Promise<void>((resolve) => (asked = resolve));
      const leaving = await owner(() => {
        asked();
        return new Promise(() => undefined); // never answers
      });
      const pending = cancel(order.id);
      await wasAsked;
      const connectionId = leaving.connection.connectionId;
      await leaving.connection.stop();
      expect(await pending).toEqual({
        status: 409,
        body: { statusCode: 409, error: 'Conflict', message: `bob did not confirm cancelling order '${order.id}': Connection '${connectionId}' disconnected.` },
      });
      expect(((await (await sampleGet(app, '/orders', tokens.ada)).json()) as Order[]).find(({ id }) => id === order.id)!.status).toBe('pending');
      expect(await cancel('no-such-order')).toEqual({
        status: 404,
        body: { statusCode: 404, error: 'Not Found', message: "Order 'no-such-order' does not exist." },
      });
    });
  });
});
