import { Injectable } from '@nestjs/common';

export interface Order {
  id: string;
  /** User name of the owner, the one `clients.user(...)` reaches. */
  customer: string;
  item: string;
  status: 'pending' | 'shipped' | 'cancelled';
}

/** Orders in memory, for the demo. */
@Injectable()
export class OrdersService {
  private readonly orders = new Map<string, Order>();
  private nextId = 1;

  list(): Order[] {
    return [...this.orders.values()];
  }

  find(id: string): Order | undefined {
    return this.orders.get(id);
  }

  create(customer: string, item: string): Order {
    const order: Order = { id: String(this.nextId++), customer, item, status: 'pending' };
    this.orders.set(order.id, order);
    return order;
  }

  markShipped(order: Order): Order {
    order.status = 'shipped';
    return order;
  }

  markCancelled(order: Order): Order {
    order.status = 'cancelled';
    return order;
  }
}
