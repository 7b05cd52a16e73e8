import { AppModule } from '../../sample/app.module.js';
import { connect, nextCall, stopAll } from '../support/client.js';
import { startApp, TestApp } from '../support/app.js';
import { RedisServer, startRedis } from '../support/redis.js';
import { createOrder, sampleLogin, samplePost } from '../support/sample.js';

/** The sample as `npm run start:cluster` runs it: two instances with REDIS_URL set, one Redis. */
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
    for (const [key, value] of [['REDIS_URL', previous.redis], ['JWT_SECRET', previous.secret]] as const) {
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
});
