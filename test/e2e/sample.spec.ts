import type { HubConnection } from '@microsoft/signalr';
import { readFileSync } from 'fs';
import type { Order } from '../../sample/orders/orders.store.js';
import type { TestApp } from '../support/app.js';
import { buildClient, nextCall, recordCalls } from '../support/client.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { createOrder, sampleGet, samplePost, SampleUser, useSampleApp } from '../support/sample.js';
import { waitUntil } from '../support/wait.js';

const HUB_ERROR = (method: string, message: string) => `An unexpected error occurred invoking '${method}' on the server. HubException: ${message}`;

/**
 * The sample's chat and notifications as its users see them. Users sign in through the sample's own
 * login endpoint (sample-auth.spec.ts tests the login and the refusals).
 */
describe('sample app', () => {
  const sample = useSampleApp();
  const tokens = sample.tokens;
  let app: TestApp;
  beforeAll(() => {
    app = sample.app;
  });

  /** A client of the hub, signed in as `user` (its token from the login endpoint), anonymous without one. */
  const hubClient = (hub: string, user?: SampleUser) =>
    buildClient(app.url(`/hubs/${hub}`), user === undefined ? {} : { accessTokenFactory: () => tokens[user] });
  const chat = async (user?: SampleUser) => {
    const client = hubClient('chat', user);
    await client.start();
    return client;
  };
  const notifications = async (user: SampleUser) => {
    const client = hubClient('notifications', user);
    await client.start();
    return client;
  };

  /** The next call of `method` whose arguments match: connections of earlier tests may still be saying goodbye. */
  function callWhere(connection: HubConnection, method: string, match: (args: unknown[]) => boolean): Promise<unknown[]> {
    return new Promise((resolve) => {
      const handler = (...args: unknown[]) => {
        if (!match(args)) return;
        connection.off(method, handler);
        resolve(args);
      };
      connection.on(method, handler);
    });
  }

  /**
   * Ordering barrier: `sender` sends a message to everyone and every listed connection awaits it.
   * A connection receives messages in the order the server sent them, so whatever an earlier,
   * completed invocation sent to a connection has arrived by then.
   */
  async function barrier(sender: HubConnection, everyone: HubConnection[]): Promise<void> {
    const arrived = everyone.map((connection) => callWhere(connection, 'message', ([, text]) => text === 'barrier'));
    await sender.invoke('SendMessage', 'barrier');
    await Promise.all(arrived);
  }

  describe('chat', () => {
    it('sends a message to everyone, the sender included, with the user name', async () => {
      const [ada, bob, anonymous] = await Promise.all([chat('ada'), chat('bob'), chat()]);
      const received = [ada, bob, anonymous].map((connection) => nextCall(connection, 'message'));
      await ada.invoke('SendMessage', '  hello everyone  ');
      expect(await Promise.all(received)).toEqual([
        ['ada', 'hello everyone'],
        ['ada', 'hello everyone'],
        ['ada', 'hello everyone'],
      ]);

      const fromAnonymous = nextCall(bob, 'message');
      await anonymous.invoke('sendmessage', 'hi');
      expect(await fromAnonymous).toEqual(['anonymous', 'hi']);
    });

    it('tells only the other members of a room about joins and leaves, and room messages reach members only', async () => {
      const [ada, bob, grace] = await Promise.all([chat('ada'), chat('bob'), chat('grace')]);
      const everyone = [ada, bob, grace];
      const [joined, left, roomMessages] = ['userJoined', 'userLeft', 'roomMessage'].map((method) =>
        everyone.map((connection) => recordCalls(connection, method)),
      );

      await ada.invoke('JoinRoom', 'lobby');
      const adaSeesBob = nextCall(ada, 'userJoined');
      await bob.invoke('JoinRoom', 'lobby');
      expect(await adaSeesBob).toEqual(['lobby', 'bob']);
      await bob.invoke('JoinRoom', 'lobby'); // already a member: no second notice

      const inRoom = [nextCall(ada, 'roomMessage'), nextCall(bob, 'roomMessage')];
      await ada.invoke('SendToRoom', 'lobby', 'hi room');
      expect(await Promise.all(inRoom)).toEqual([
        ['lobby', 'ada', 'hi room'],
        ['lobby', 'ada', 'hi room'],
      ]);

      const adaSeesBobLeave = nextCall(ada, 'userLeft');
      await bob.invoke('LeaveRoom', 'lobby');
      expect(await adaSeesBobLeave).toEqual(['lobby', 'bob']);
      await ada.invoke('SendToRoom', 'lobby', 'bob is gone');

      await barrier(ada, everyone);
      expect(joined).toEqual([[['lobby', 'bob']], [], []]);
      expect(left).toEqual([[['lobby', 'bob']], [], []]);
      expect(roomMessages).toEqual([
        [
          ['lobby', 'ada', 'hi room'],
          ['lobby', 'ada', 'bob is gone'],
        ],
        [['lobby', 'ada', 'hi room']],
        [],
      ]);
    });

    it('delivers a private message to every connection of the user and to nobody else', async () => {
      const [ada, bob, graceOnLaptop, graceOnPhone] = await Promise.all([chat('ada'), chat('bob'), chat('grace'), chat('grace')]);
      const everyone = [ada, bob, graceOnLaptop, graceOnPhone];
      const privates = everyone.map((connection) => recordCalls(connection, 'privateMessage'));

      const toGrace = [nextCall(graceOnLaptop, 'privateMessage'), nextCall(graceOnPhone, 'privateMessage')];
      await ada.invoke('SendPrivate', 'grace', 'psst');
      expect(await Promise.all(toGrace)).toEqual([
        ['ada', 'psst'],
        ['ada', 'psst'],
      ]);
      // A user connected nowhere is refused, so the sender does not believe it was delivered.
      await expect(ada.invoke('SendPrivate', 'nobody-online', 'hello?')).rejects.toThrow(
        new Error(HUB_ERROR('SendPrivate', 'No user named nobody-online is online.')),
      );

      await barrier(bob, everyone);
      expect(privates).toEqual([[], [], [['ada', 'psst']], [['ada', 'psst']]]);
    });

    it('tells everyone else when a user connects and disconnects, with the rooms they leave', async () => {
      const [observer, roommate] = await Promise.all([chat('bob'), chat('grace')]);
      await roommate.invoke('JoinRoom', 'lounge');
      const aboutAda = (connection: HubConnection) => {
        const seen: unknown[][] = [];
        for (const method of ['userConnected', 'userJoined', 'userLeft', 'userDisconnected']) {
          connection.on(method, (...args: unknown[]) => args.includes('ada') && seen.push([method, ...args]));
        }
        return seen;
      };
      const [observerSaw, roommateSaw] = [aboutAda(observer), aboutAda(roommate)];

      const ada = hubClient('chat', 'ada');
      const ownNotice = recordCalls(ada, 'userConnected');
      const connected = callWhere(observer, 'userConnected', ([user]) => user === 'ada');
      await ada.start();
      expect(await connected).toEqual(['ada']);
      await ada.invoke('JoinRoom', 'lounge');
      await barrier(ada, [observer, roommate, ada]);
      expect(ownNotice).toEqual([]);

      const disconnected = [observer, roommate].map((connection) => callWhere(connection, 'userDisconnected', ([user]) => user === 'ada'));
      await ada.stop();
      expect(await Promise.all(disconnected)).toEqual([['ada'], ['ada']]);
      // The observer is not in the lounge: it hears of the connect and disconnect only.
      expect(observerSaw).toEqual([
        ['userConnected', 'ada'],
        ['userDisconnected', 'ada'],
      ]);
      expect(roommateSaw).toEqual([
        ['userConnected', 'ada'],
        ['userJoined', 'lounge', 'ada'],
        ['userLeft', 'lounge', 'ada'],
        ['userDisconnected', 'ada'],
      ]);
    });

    it('does not announce anonymous visitors (the page connects anonymously before its user logs in)', async () => {
      const observer = await chat('bob');
      const notices = ['userConnected', 'userDisconnected'].map((method) => recordCalls(observer, method));
      const visitor = await chat();
      await visitor.invoke('SendMessage', 'just looking'); // answered: its onConnected has run
      await visitor.stop();
      const server = app.app.get(SignalRServer);
      await waitUntil(() => server.stats().running === 1); // its onDisconnected has run too
      await barrier(observer, [observer]);
      expect(notices).toEqual([[], []]);
    });

    it('refuses bad input with a HubException the client sees word for word, and stays connected', async () => {
      const ada = await chat('ada');
      await expect(ada.invoke('SendMessage', '')).rejects.toThrow(new Error(HUB_ERROR('SendMessage', 'Message must not be empty.')));
      await expect(ada.invoke('SendMessage', '   ')).rejects.toThrow(new Error(HUB_ERROR('SendMessage', 'Message must not be empty.')));
      await expect(ada.invoke('SendMessage', 42)).rejects.toThrow(new Error(HUB_ERROR('SendMessage', 'Message must not be empty.')));
      await expect(ada.invoke('SendMessage', 'x'.repeat(501))).rejects.toThrow(new Error(HUB_ERROR('SendMessage', 'Message must be at most 500 characters.')));
      await expect(ada.invoke('JoinRoom', '')).rejects.toThrow(new Error(HUB_ERROR('JoinRoom', 'Room must not be empty.')));
      await expect(ada.invoke('SendToRoom', 'nowhere', 'hi')).rejects.toThrow(new Error(HUB_ERROR('SendToRoom', "You are not in room 'nowhere'.")));
      await expect(ada.invoke('LeaveRoom', 'nowhere')).rejects.toThrow(new Error(HUB_ERROR('LeaveRoom', "You are not in room 'nowhere'.")));
      await expect(ada.invoke('SendPrivate', '', 'hi')).rejects.toThrow(new Error(HUB_ERROR('SendPrivate', 'User must not be empty.')));
      // Helpers of the hub are not hub methods.
      await expect(ada.invoke('RequireMembership', 'nowhere')).rejects.toThrow(
        new Error("Failed to invoke 'RequireMembership' due to an error on the server. HubException: Method does not exist."),
      );

      const echo = nextCall(ada, 'message');
      await ada.invoke('SendMessage', 'still here');
      expect(await echo).toEqual(['ada', 'still here']);
    });
  });

  describe('orders and notifications', () => {
    /** As ada, an admin: the orders API lets admins act on everyone's orders (see sample-auth.spec.ts for the others). */
    const post = (path: string, body?: unknown) => samplePost(app, path, body, tokens.ada);

    it('pushes orderShipped to the topic subscribers and to the owner, and to nobody else', async () => {
      const [subscriber, owner, bystander] = await Promise.all([notifications('grace'), notifications('bob'), notifications('ada')]);
      await subscriber.invoke('Subscribe', 'orders');
      const shipped = [subscriber, owner, bystander].map((connection) => recordCalls(connection, 'orderShipped'));

      const created = await post('/orders', { customer: 'bob', item: 'Lamp' });
      expect(created.status).toBe(201);
      const order = (await created.json()) as Order;
      expect(order).toEqual({ id: expect.any(String), customer: 'bob', item: 'Lamp', status: 'pending' });

      const arrived = [nextCall(subscriber, 'orderShipped'), nextCall(owner, 'orderShipped')];
      const response = await post(`/orders/${order.id}/ship`);
      expect(response.status).toBe(200);
      const shippedOrder = { ...order, status: 'shipped' };
      expect(await response.json()).toEqual(shippedOrder);
      expect(await Promise.all(arrived)).toEqual([[shippedOrder], [shippedOrder]]);

      // The sends were queued before the HTTP response; a round trip on each connection comes after them.
      await Promise.all([subscriber, owner, bystander].map((connection) => connection.invoke('Subscribe', 'barrier')));
      expect(shipped).toEqual([[[shippedOrder]], [[shippedOrder]], []]);

      const list = await sampleGet(app, '/orders', tokens.ada);
      expect(list.status).toBe(200);
      expect(await list.json()).toContainEqual(shippedOrder);
    });

    it('stops notifying a subscriber that unsubscribed', async () => {
      const [subscriber, witness] = await Promise.all([notifications('grace'), notifications('ada')]);
      await Promise.all([subscriber.invoke('Subscribe', 'orders'), witness.invoke('Subscribe', 'orders')]);
      await subscriber.invoke('Unsubscribe', 'orders');
      const shipped = recordCalls(subscriber, 'orderShipped');

      const order = await createOrder(app, 'nobody', 'Kettle', tokens.ada);
      const witnessed = nextCall(witness, 'orderShipped');
      expect((await post(`/orders/${order.id}/ship`)).status).toBe(200);
      expect(await witnessed).toEqual([{ ...order, status: 'shipped' }]);
      await subscriber.invoke('Subscribe', 'barrier');
      expect(shipped).toEqual([]);
    });

    it('answers 404 for an unknown order, 409 for shipping twice and 400 for a bad order', async () => {
      const unknown = await post('/orders/does-not-exist/ship');
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ statusCode: 404, error: 'Not Found', message: "Order 'does-not-exist' does not exist." });

      const order = await createOrder(app, 'ada', 'Pen', tokens.ada);
      expect((await post(`/orders/${order.id}/ship`)).status).toBe(200);
      const again = await post(`/orders/${order.id}/ship`);
      expect(again.status).toBe(409);
      expect(((await again.json()) as { message: string }).message).toBe(`Order '${order.id}' has already shipped.`);

      const bad = await post('/orders', { customer: 'ada' });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toBe("'item' must be a non-empty string.");
    });
  });

  describe('browser page', () => {
    it('serves the page, its script and the official browser client', async () => {
      const page = await fetch(app.url('/'));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await page.text();
      expect(html).toContain('<script src="/lib/signalr.min.js"></script>');
      expect(html).toContain('<script src="/app.js"></script>');

      const script = await fetch(app.url('/app.js'));
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await script.text()).toContain('accessTokenFactory: () => accessToken');

      const bundle = await fetch(app.url('/lib/signalr.min.js'));
      expect(bundle.status).toBe(200);
      expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const code = await bundle.text();
      expect(code).toContain('signalR');
      expect(code).toBe(readFileSync(require.resolve('@microsoft/signalr/dist/browser/signalr.min.js'), 'utf8'));
    });
  });
});
