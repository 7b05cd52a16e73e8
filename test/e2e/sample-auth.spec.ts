import { HttpTransportType, HubConnection } from '@microsoft/signalr';
import { JwtService } from '@nestjs/jwt';
import type { Order } from '../../sample/orders/orders.store.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { token as handMadeToken } from '../fixtures/auth-tokens.js';
import type { TestApp } from '../support/app.js';
import { buildClient, nextCall, recordCalls, UNAUTHORIZED } from '../support/client.js';
import { request } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { createOrder, decodeJwt, postLogin, SAMPLE_PASSWORDS, sampleGet, samplePost, SampleUser, useSampleApp } from '../support/sample.js';

const NOT_ADMIN = "Failed to invoke 'AdminBroadcast' because user is unauthorized";
const HUB_ERROR = (method: string, message: string) => `An unexpected error occurred invoking '${method}' on the server. HubException: ${message}`;
const ROLES = { ada: ['admin'], bob: ['user'], grace: ['user'] } as const;
/** Not the sample's key: the sample signs with JWT_SECRET or a random per-process secret. */
const OTHER_KEY = 'not-the-sample-secret-but-just-as-long!!';

/** Replaces a signed token's payload and keeps its signature. */
function tamper(signed: string, claims: Record<string, unknown>): string {
  const [header, , signature] = signed.split('.');
  return `${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(signed).payload, ...claims })).toString('base64url')}.${signature}`;
}

/**
 * The sample's login endpoint and what its tokens allow: the notification hub for signed-in users
 * only, per-user notifications, the admin broadcast for ada's `admin` role, and refusals of tokens
 * that do not verify.
 */
describe('sample app: login, tokens and roles', () => {
  const sample = useSampleApp();
  const tokens = sample.tokens;
  let app: TestApp;
  beforeAll(() => {
    app = sample.app;
  });

  /** Starts an official client of `/hubs/<hub>` as `user` (its token from the login endpoint), anonymous without one. */
  async function open(hub: 'chat' | 'notifications', user?: SampleUser, transport = HttpTransportType.WebSockets): Promise<HubConnection> {
    const client = buildClient(app.url(`/hubs/${hub}`), { transport, ...(user === undefined ? {} : { accessTokenFactory: () => tokens[user] }) });
    await client.start();
    return client;
  }

  /** A chat message to everyone from `sender`, awaited by every listed connection: what was sent to them before has arrived. */
  async function barrier(sender: HubConnection, everyone: HubConnection[]): Promise<void> {
    const arrived = everyone.map((connection) => nextCall(connection, 'message'));
    await sender.invoke('SendMessage', 'barrier');
    await Promise.all(arrived);
  }

  describe('POST /api/auth/login', () => {
    it.each(['ada', 'bob', 'grace'] as const)('answers 200 for %s with an HS256 JWT: sub, the roles claim, an hour to live', async (user) => {
      const response = await postLogin(app, { username: user, password: SAMPLE_PASSWORDS[user] });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const body = (await response.json()) as { accessToken: string };
      expect(Object.keys(body)).toEqual(['accessToken']);
      const { header, payload } = decodeJwt(body.accessToken);
      expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
      expect(payload).toEqual({ sub: user, roles: ROLES[user], iat: expect.any(Number), exp: (payload.iat as number) + 3600 });
      expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(60);
      // Signed with the key the hubs verify with.
      expect(app.app.get(JwtService).verify(body.accessToken)).toEqual(payload);
    });

    it('answers 401 for a wrong password or an unknown user, and 400 for a malformed body', async () => {
      const refused = { statusCode: 401, message: 'Invalid username or password.', error: 'Unauthorized' };
      for (const credentials of [
        { username: 'ada', password: 'hopper' },
        { username: 'ada', password: '' },
        { username: 'Ada', password: 'lovelace' },
        { username: 'mallory', password: 'lovelace' },
        { username: 'mallory', password: '' },
      ]) {
        const response = await postLogin(app, credentials);
        expect({ credentials, status: response.status, body: await response.json() }).toEqual({ credentials, status: 401, body: refused });
      }
      const malformed = await postLogin(app, { username: 'ada' });
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toEqual({
        statusCode: 400,
        message: ['password must be shorter than or equal to 100 characters', 'password must be a string'],
        error: 'Bad Request',
      });
    });
  });

  it('keeps the chat open to anonymous users and names signed-in users by the `sub` of their token', async () => {
    const [anonymous, bob] = await Promise.all([open('chat'), open('chat', 'bob')]);
    const fromAnonymous = nextCall(bob, 'message');
    await anonymous.invoke('SendMessage', 'hi from nowhere');
    expect(await fromAnonymous).toEqual(['anonymous', 'hi from nowhere']);
    const fromBob = nextCall(anonymous, 'message');
    await bob.invoke('SendMessage', 'hi from bob');
    expect(await fromBob).toEqual(['bob', 'hi from bob']);
  });

  describe('notifications', () => {
    it('refuses a client without a token with 401 and an empty body, and lets a signed-in user in', async () => {
      for (const transport of [HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling]) {
        await expect(buildClient(app.url('/hubs/notifications'), { transport }).start()).rejects.toThrow(new Error(UNAUTHORIZED));
      }
      const negotiate = await request(app.url('/hubs/notifications/negotiate?negotiateVersion=1'), { method: 'POST' });
      expect({ status: negotiate.status, body: negotiate.body.toString() }).toEqual({ status: 401, body: '' });
      await expect(RawSocket.open(app.url('/hubs/notifications'))).rejects.toMatchObject({ status: 401, body: '' });
      expect(app.app.get(SignalRServer).stats()).toEqual({ registered: 0, running: 0 });

      const grace = await open('notifications', 'grace');
      await expect(grace.invoke('Subscribe', 'orders')).resolves.toBeNull();
    });

    it("sends an order's notification to every connection of its owner, on every transport, and to no one else", async () => {
      const bob = await Promise.all(
        [HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling].map((transport) =>
          open('notifications', 'bob', transport),
        ),
      );
      const others = await Promise.all([open('notifications', 'grace'), open('notifications', 'ada')]);
      const everyone = [...bob, ...others];
      const shipped = everyone.map((connection) => recordCalls(connection, 'orderShipped'));

      const post = (path: string, body?: unknown) => samplePost(app, path, body ?? {}, tokens.ada);
      const order = (await (await post('/orders', { customer: 'bob', item: 'Bricks' })).json()) as Order;
      const arrived = bob.map((connection) => nextCall(connection, 'orderShipped'));
      expect((await post(`/orders/${order.id}/ship`)).status).toBe(200);
      const shippedOrder = { ...order, status: 'shipped' };
      expect(await Promise.all(arrived)).toEqual([[shippedOrder], [shippedOrder], [shippedOrder]]);

      // The sends were queued before the HTTP response; a round trip on each connection comes after them.
      await Promise.all(everyone.map((connection) => connection.invoke('Subscribe', 'barrier')));
      expect(shipped).toEqual([[[shippedOrder]], [[shippedOrder]], [[shippedOrder]], [], []]);
    });
  });

  describe('admin broadcast', () => {
    it('reaches everyone, anonymous users included, when ada (role admin) sends it', async () => {
      const everyone = await Promise.all([open('chat', 'ada'), open('chat', 'bob'), open('chat')]);
      const received = everyone.map((connection) => nextCall(connection, 'announcement'));
      await expect(everyone[0].invoke('AdminBroadcast', { text: 'Maintenance at noon', level: 'warning' })).resolves.toBeNull();
      expect(await Promise.all(received)).toEqual([
        ['Maintenance at noon', 'warning', 'ada'],
        ['Maintenance at noon', 'warning', 'ada'],
        ['Maintenance at noon', 'warning', 'ada'],
      ]);
    });

    it('refuses bob (role user) and anonymous users with the unauthorized error; nobody hears a thing, and both stay connected', async () => {
      const [ada, bob, anonymous] = await Promise.all([open('chat', 'ada'), open('chat', 'bob'), open('chat')]);
      const everyone = [ada, bob, anonymous];
      const announcements = everyone.map((connection) => recordCalls(connection, 'announcement'));
      const announcement = { text: 'I am in charge now', level: 'info' };
      await expect(bob.invoke('AdminBroadcast', announcement)).rejects.toThrow(new Error(NOT_ADMIN));
      // The error names the method as the caller spelled it, as ASP.NET Core's does.
      await expect(anonymous.invoke('adminbroadcast', announcement)).rejects.toThrow(
        new Error("Failed to invoke 'adminbroadcast' because user is unauthorized"),
      );
      // The guard runs before the pipe: an invalid announcement from a non-admin is refused as unauthorized.
      await expect(bob.invoke('AdminBroadcast', { text: '' })).rejects.toThrow(new Error(NOT_ADMIN));

      await barrier(bob, everyone);
      await barrier(anonymous, everyone);
      expect(announcements).toEqual([[], [], []]);
    });

    it('refuses an invalid announcement from ada with the ValidationPipe messages', async () => {
      const [ada, bob] = await Promise.all([open('chat', 'ada'), open('chat', 'bob')]);
      const announcements = [ada, bob].map((connection) => recordCalls(connection, 'announcement'));
      const cases: Array<[unknown, string]> = [
        [{ text: '', level: 'urgent' }, 'text must be longer than or equal to 1 characters, level must be one of the following values: info, warning'],
        [{ text: 'x'.repeat(201), level: 'info' }, 'text must be shorter than or equal to 200 characters'],
        [{ text: 'hi', level: 'info', from: 'someone else' }, 'property from should not exist'],
        [{ level: 'info' }, 'text must be shorter than or equal to 200 characters, text must be longer than or equal to 1 characters, text must be a string'],
      ];
      for (const [announcement, message] of cases) {
        await expect(ada.invoke('AdminBroadcast', announcement)).rejects.toThrow(new Error(HUB_ERROR('AdminBroadcast', message)));
      }
      await barrier(ada, [ada, bob]);
      expect(announcements).toEqual([[], []]);
    });
  });

  describe('tokens that do not verify', () => {
    const jwt = () => app.app.get(JwtService);
    const forged: Array<[string, () => string]> = [
      ['an expired token signed with the sample key', () => jwt().sign({ sub: 'ada', roles: ['admin'] }, { expiresIn: -10 })],
      ['a bad signature', () => handMadeToken({ sub: 'ada', roles: ['admin'] }, { key: OTHER_KEY })],
      ['alg: none', () => handMadeToken({ sub: 'ada', roles: ['admin'] }, { alg: 'none' })],
      ['HS512 signed with the sample key (not an allowed algorithm)', () => jwt().sign({ sub: 'ada', roles: ['admin'] }, { algorithm: 'HS512' })],
      ["bob's token with the roles claim changed to admin", () => tamper(tokens.bob, { roles: ['admin'] })],
    ];

    it.each(forged)('refuses %s on both hubs with 401; connected users are not affected', async (_, make) => {
      const token = make();
      const ada = await open('chat', 'ada');
      const before = app.app.get(SignalRServer).stats();

      for (const hub of ['chat', 'notifications'] as const) {
        // A token that does not verify is refused even where anonymous users are welcome.
        const url = app.url(`/hubs/${hub}`);
        const negotiate = await request(`${url}/negotiate?negotiateVersion=1`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
        expect({ hub, status: negotiate.status, body: negotiate.body.toString() }).toEqual({ hub, status: 401, body: '' });
        await expect(buildClient(url, { accessTokenFactory: () => token }).start()).rejects.toThrow(new Error(UNAUTHORIZED));
        await expect(RawSocket.open(`${url}?access_token=${token}`)).rejects.toMatchObject({ status: 401, body: '' });
      }

      expect(app.app.get(SignalRServer).stats()).toEqual(before);
      const echo = nextCall(ada, 'message');
      await ada.invoke('SendMessage', 'still here');
      expect(await echo).toEqual(['ada', 'still here']);
    });

    it('lets in the same claims signed properly, so the refusals above are about the token alone', async () => {
      const token = jwt().sign({ sub: 'ada', roles: ['admin'] });
      const ada = buildClient(app.url('/hubs/notifications'), { accessTokenFactory: () => token });
      await ada.start();
      await expect(ada.invoke('Subscribe', 'orders')).resolves.toBeNull();
    });
  });

  describe('orders API: signed-in owners and admins only', () => {
    /** The status and JSON body of a response. */
    const outcome = async (response: Promise<Response>) => {
      const answered = await response;
      return { status: answered.status, body: await answered.json() };
    };
    /** Bob's page, recording every confirmation it is asked for and accepting it. */
    const bobsPage = async () => {
      const questions: string[] = [];
      const connection = await open('notifications', 'bob');
      connection.on('Confirm', (question: string) => {
        questions.push(question);
        return true;
      });
      return { connection, questions };
    };

    it("answers anonymous callers and bad tokens with 401: no list, no order, no shipping, no confirm dialog on the owner's page", async () => {
      const bob = await bobsPage();
      const order = await createOrder(app, 'bob', 'Bricks', tokens.bob);
      const anonymous = { statusCode: 401, error: 'Unauthorized', message: 'Log in first: send the access token as `Authorization: Bearer <token>`.' };
      expect(await outcome(sampleGet(app, '/orders'))).toEqual({ status: 401, body: anonymous });
      expect(await outcome(samplePost(app, '/orders', { customer: 'bob', item: 'Spam' }))).toEqual({ status: 401, body: anonymous });
      expect(await outcome(samplePost(app, `/orders/${order.id}/ship`))).toEqual({ status: 401, body: anonymous });
      expect(await outcome(samplePost(app, `/orders/${order.id}/cancel`))).toEqual({ status: 401, body: anonymous });
      const forged = handMadeToken({ sub: 'ada', roles: ['admin'] });
      expect(await outcome(samplePost(app, `/orders/${order.id}/cancel`, undefined, forged))).toEqual({
        status: 401,
        body: { statusCode: 401, error: 'Unauthorized', message: 'The access token is invalid or has expired.' },
      });
      expect(bob.questions).toEqual([]);
      expect(((await outcome(sampleGet(app, '/orders', tokens.bob))).body as Order[]).find(({ id }) => id === order.id)).toEqual(order);
    });

    it("answers another user with 403 for someone else's order: not listed, not shipped, not cancelled, nothing asked", async () => {
      const bob = await bobsPage();
      const order = await createOrder(app, 'bob', 'Lamp', tokens.bob);
      const notYours = { statusCode: 403, error: 'Forbidden', message: `Order '${order.id}' is not yours.` };
      expect(await outcome(samplePost(app, `/orders/${order.id}/cancel`, undefined, tokens.grace))).toEqual({ status: 403, body: notYours });
      expect(await outcome(samplePost(app, `/orders/${order.id}/ship`, undefined, tokens.grace))).toEqual({ status: 403, body: notYours });
      expect(await outcome(samplePost(app, '/orders', { customer: 'bob', item: 'Spam' }, tokens.grace))).toEqual({
        status: 403,
        body: { statusCode: 403, error: 'Forbidden', message: 'Only admins may order for someone else.' },
      });
      expect(bob.questions).toEqual([]);
      expect(((await outcome(sampleGet(app, '/orders', tokens.grace))).body as Order[]).map(({ customer }) => customer)).not.toContain('bob');
      expect(((await outcome(sampleGet(app, '/orders', tokens.bob))).body as Order[]).find(({ id }) => id === order.id)).toEqual(order);
    });

    it('lets the owner order for themselves, see, cancel and ship their orders', async () => {
      const bob = await bobsPage();
      const created = await outcome(samplePost(app, '/orders', { item: 'Kettle' }, tokens.bob));
      const order = created.body as Order;
      expect(created).toEqual({ status: 201, body: { id: expect.any(String), customer: 'bob', item: 'Kettle', status: 'pending' } });
      expect(await outcome(samplePost(app, `/orders/${order.id}/cancel`, undefined, tokens.bob))).toEqual({
        status: 200,
        body: { ...order, status: 'cancelled' },
      });
      expect(bob.questions).toEqual([`Cancel your order #${order.id} (Kettle)?`]);
      const second = await createOrder(app, 'bob', 'Rug', tokens.bob);
      expect(await outcome(samplePost(app, `/orders/${second.id}/ship`, undefined, tokens.bob))).toEqual({
        status: 200,
        body: { ...second, status: 'shipped' },
      });
    });

    it("lets an admin see everyone's orders, order for anyone, ship and cancel them", async () => {
      const bob = await bobsPage();
      const order = await createOrder(app, 'bob', 'Desk', tokens.ada);
      expect(order).toMatchObject({ customer: 'bob', item: 'Desk' });
      const listed = (await outcome(sampleGet(app, '/orders', tokens.ada))).body as Order[];
      expect(listed).toContainEqual(order);
      expect(await outcome(samplePost(app, `/orders/${order.id}/cancel`, undefined, tokens.ada))).toEqual({
        status: 200,
        body: { ...order, status: 'cancelled' },
      });
      expect(bob.questions).toEqual([`Cancel your order #${order.id} (Desk)?`]);
      const second = await createOrder(app, 'grace', 'Chair', tokens.ada);
      expect((await samplePost(app, `/orders/${second.id}/ship`, undefined, tokens.ada)).status).toBe(200);
    });
  });
});
