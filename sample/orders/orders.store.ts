export interface Order {
  id: string;
  /** User name of the owner, the one `clients.user(...)` reaches. */
  customer: string;
  item: string;
  status: 'pending' | 'shipped' | 'cancelled';
}

/** Where a pending order can go. */
export type SettledStatus = Exclude<Order['status'], 'pending'>;

/**
 * Where the orders live: in this process for `npm start` (MemoryOrdersStore), in Redis when the
 * sample runs clustered (RedisOrdersStore), so that every instance lists the same orders and gives
 * out unique ids. An abstract class, so that it is also the injection token.
 */
export abstract class OrdersStore {
  /** Every order, oldest first. */
  abstract list(): Promise<Order[]>;

  abstract find(id: string): Promise<Order | undefined>;

  /** A new pending order with the next id. */
  abstract create(customer: string, item: string): Promise<Order>;

  /**
   * Moves the order from pending to `status`, as one step (two instances may ship and cancel it at
   * the same time): the updated order, or undefined when it does not exist or is no longer pending.
   */
  abstract settle(id: string, status: SettledStatus): Promise<Order | undefined>;
}

/** An order's fields in a fixed order, whatever order they were stored in. */
export function orderOf({ id, customer, item, status }: Order): Order {
  return { id, customer, item, status };
}
