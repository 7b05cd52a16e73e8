import { Order, orderOf, OrdersStore, SettledStatus } from './orders.store.js';

/** Orders in this process's memory, for `npm start`: one instance, nothing else to run. */
export class MemoryOrdersStore extends OrdersStore {
  private readonly orders = new Map<string, Order>();
  private nextId = 1;

  async list(): Promise<Order[]> {
    return [...this.orders.values()].map(orderOf);
  }

  async find(id: string): Promise<Order | undefined> {
    const order = this.orders.get(id);
    return order && orderOf(order);
  }

  async create(customer: string, item: string): Promise<Order> {
    const order: Order = { id: String(this.nextId++), customer, item, status: 'pending' };
    this.orders.set(order.id, order);
    return orderOf(order);
  }

  async settle(id: string, status: SettledStatus): Promise<Order | undefined> {
    const order = this.orders.get(id);
    if (order?.status !== 'pending') return undefined;
    order.status = status;
    return orderOf(order);
  }
}
