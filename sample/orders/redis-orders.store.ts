import type { Redis } from 'ioredis';
import { Order, orderOf, OrdersStore, SettledStatus } from './orders.store.js';

/** The hash of every order (field: id, value: the order as JSON) and the counter that gives out ids. */
const ORDERS = 'sample:orders';
const LAST_ID = 'sample:orders:last-id';

/**
 * Sets the status of a pending order in Redis itself, so that no other instance changes the order
 * between the check and the write. KEYS[1]: the orders hash; ARGV: id, new status. Returns the
 * updated order's JSON, or nil when it does not exist or is not pending.
 */
const SETTLE = `
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return nil end
local order = cjson.decode(json)
if order.status ~= 'pending' then return nil end
order.status = ARGV[2]
json = cjson.encode(order)
redis.call('HSET', KEYS[1], ARGV[1], json)
return json`;

/**
 * Orders in Redis, for the clustered sample (REDIS_URL): every instance sees the same orders, and
 * ids come from INCR, so no two instances give out the same one.
 */
export class RedisOrdersStore extends OrdersStore {
  constructor(private readonly redis: Redis) {
    super();
  }

  async list(): Promise<Order[]> {
    const orders = Object.values(await this.redis.hgetall(ORDERS)).map((json) => orderOf(JSON.parse(json) as Order));
    return orders.sort((a, b) => Number(a.id) - Number(b.id));
  }

  async find(id: string): Promise<Order | undefined> {
    const json = await this.redis.hget(ORDERS, id);
    return json === null ? undefined : orderOf(JSON.parse(json) as Order);
  }

  async create(customer: string, item: string): Promise<Order> {
    const order: Order = { id: String(await this.redis.incr(LAST_ID)), customer, item, status: 'pending' };
    await this.redis.hset(ORDERS, order.id, JSON.stringify(order));
    return order;
  }

  async settle(id: string, status: SettledStatus): Promise<Order | undefined> {
    const json = (await this.redis.eval(SETTLE, 1, ORDERS, id, status)) as string | null;
    return json === null ? undefined : orderOf(JSON.parse(json) as Order);
  }
}
