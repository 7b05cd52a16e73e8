import type { HubConnection } from '@microsoft/signalr';
import { Redis } from 'ioredis';
import { AppModule } from '../../sample/app.module.js';
import type { Order } from '../../sample/orders/orders.store.js';
import { connect, nextCall, stopAll } from '../support/client.js';
import { startApp, TestApp } from '../support/app.js';
import { RedisServer, startRedis } from '../support/redis.js';
import { createOrder, quiet, sampleGet, sampleLogin, samplePost } from '../support/sample.js';

/** Two instances of the sample with REDIS_URL set, one Redis (as machines, or the workers of `npm run start:cluster`, run it). */
describe('sample cluster: two instances on one Redis', () => {
  let redis: RedisServer;
  let first: TestApp;
  let second: TestApp;
  const previous = { redis: process.env.REDIS_URL, secret: process.env.JWT_SECRET };

  beforeAll(async () => {
    redis = await startRedis();
    process.env.REDIS_URL = redis.url;
    process.env.JWT_SECRET = 'one secret for both instances';
    first = await startApp({ imports: [AppModule] });
    second = await startApp({ imports: [AppModule] });
  });
  afterAll(async () => {
    await stopAll();
    await first?.close();
    await second?.close();
    await redis?.close();
    for (const [key, value] of [
      ['REDIS_URL', previous.redis],
      ['JWT_SECRET', previous.secret],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('a chat message sent on one instance reaches a client on the other', async () => {
    const sender = await connect(first.url('/hubs/chat'));
    const receiver = await connect(second.url('/hubs/chat'));
    const received = nextCall(receiver, 'message');
    await sender.invoke('SendMessage', 'hello from the first instance');
    expect(await received).toEqual(['anonymous', 'hello from the first instance']);
  });

  it("a user's notification reaches their connection on the other instance", async () => {
    const token = await sampleLogin(second, 'bob');
    const bob = await connect(second.url('/hubs/notifications'), { accessTokenFactory: () => token });
    const shipped = nextCall(bob, 'orderShipped');
    // The orders API is for signed-in users: ada, an admin, orders for bob and ships it on the first instance.
    const admin = await sampleLogin(first, 'ada');
    const order = await createOrder(first, 'bob', 'book', admin);
    expect((await samplePost(first, `/orders/${order.id}/ship`, undefined, admin)).status).toBe(200);
    expect(await shipped).toEqual([expect.objectContaining({ id: order.id, customer: 'bob', item: 'book' })]);
  });

  describe('orders, shared in Redis', () => {
    let admin: string;
    let bobToken: string;
    beforeAll(async () => {
      admin = await sampleLogin(first, 'ada');
      bobToken = await sampleLogin(second, 'bob');
    });
    afterEach(async () => {
      await stopAll();
      // Bob's connections of a test are gone from both instances (and Redis) before the next begins.
      await Promise.all([quiet(first), quiet(second)]);
    });

    const listOn = async (instance: TestApp, token = admin) => (await (await sampleGet(instance, '/orders', token)).json()) as Order[];
    const cancelOn = async (instance: TestApp, id: string) => {
      const response = await samplePost(instance, `/orders/${id}/cancel`, undefined, admin);
      return { status: response.status, body: await response.json() };
    };

    /**
     * Bob's official client on the second instance, answering `Confirm` with `answer`. A call made
     * after start() returns once the hub's onConnected (which records the connection) has finished.
     */
    async function bobOnSecond(answer: (question: string) => unknown): Promise<{ connection: HubConnection; questions: string[] }> {
      const questions: string[] = [];
      const connection = await connect(second.url('/hubs/notifications'), { accessTokenFactory: () => bobToken });
      connection.on('Confirm', (question: string) => {
        questions.push(question);
        return answer(question);
      });
      await connection.invoke('Unsubscribe', 'orders');
      return { connection, questions };
    }

    it('both instances list the same orders, and their ids are unique', async () => {
      const made: Order[] = [];
      for (const [index, item] of ['abacus', 'bellows', 'compass', 'drum'].entries()) {
        made.push(await createOrder(index % 2 === 0 ? first : second, 'grace', item, admin));
      }
      expect(new Set(made.map(({ id }) => id)).size).toBe(4);
      const fromFirst = await listOn(first);
      expect(await listOn(second)).toEqual(fromFirst);
      expect(fromFirst).toEqual(expect.arrayContaining(made.map((order) => ({ ...order, status: 'pending' }))));
      // Grace, no admin, sees her own orders from either instance.
      const grace = await sampleLogin(second, 'grace');
      expect((await listOn(first, grace)).filter(({ item }) => ['abacus', 'bellows', 'compass', 'drum'].includes(item))).toEqual(made);
    });

    it("cancelling on the first instance asks bob's client on the second, and cancels once it answers true", async () => {
      const bob = await bobOnSecond(() => true);
      const order = await createOrder(second, 'bob', 'lamp', admin);
      const told = nextCall(bob.connection, 'orderCancelled');
      const cancelled = { ...order, status: 'cancelled' };
      expect(await cancelOn(first, order.id)).toEqual({ status: 200, body: cancelled });
      expect(bob.questions).toEqual([`Cancel your order #${order.id} (lamp)?`]);
      expect(await told).toEqual([cancelled]);
      expect((await listOn(second)).find(({ id }) => id === order.id)).toEqual(cancelled);
    });

    it('skips a connection id left behind by a dead instance and asks the live one', async () => {
      const bob = await bobOnSecond(() => true);
      const order = await createOrder(first, 'bob', 'kite', admin);
      // What an instance killed without closing its connections leaves: a newer id nobody holds.
      const redisClient = new Redis(redis.url);
      const key = 'sample:notifications:connections:bob';
      await redisClient.zadd(key, String(Date.now() + 60_000), 'dead-instance-connection');
      try {
        expect(await cancelOn(first, order.id)).toEqual({ status: 200, body: { ...order, status: 'cancelled' } });
        expect(bob.questions).toEqual([`Cancel your order #${order.id} (kite)?`]);
        expect(await redisClient.zrange(key, '0', '-1')).toEqual([bob.connection.connectionId]);
      } finally {
        redisClient.disconnect();
      }
    });

    it('answers 409 when bob is online on no instance, and when his order shipped on the other instance while he decided', async () => {
      const order = await createOrder(first, 'bob', 'globe', admin);
      expect(await cancelOn(first, order.id)).toEqual({
        status: 409,
        body: { statusCode: 409, error: 'Conflict', message: `bob is not online to confirm cancelling order '${order.id}'.` },
      });
      // Bob says yes only after an admin shipped the order on the second instance.
      await bobOnSecond(async () => (await samplePost(second, `/orders/${order.id}/ship`, undefined, admin)).status === 200);
      expect(await cancelOn(first, order.id)).toEqual({
        status: 409,
        body: { statusCode: 409, error: 'Conflict', message: `Order '${order.id}' has already shipped.` },
      });
      expect((await listOn(first)).find(({ id }) => id === order.id)!.status).toBe('shipped');
    });
  });
});
