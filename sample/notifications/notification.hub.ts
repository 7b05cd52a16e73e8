import { Hub } from '../../src/index.js';
import { requireText } from '../validation.js';
import { UserConnections } from './user-connections.js';

/**
 * Notifications pushed from outside the hub (see OrdersController), for signed-in users only: a
 * request without a valid token gets 401, which the official client reports as
 * "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'".
 * Clients subscribe to topics, which are groups; every connection of a user also gets what is sent
 * to them with `clients.user(sub)` without subscribing. Client events: `orderShipped(order)`,
 * `orderCancelled(order)`. Client result: `Confirm(question)` must answer true or false (the orders
 * controller asks an owner before cancelling their order).
 */
@Hub('/hubs/notifications', { requireAuthentication: true, allowStatefulReconnects: true })
export class NotificationHub extends Hub {
  constructor(private readonly userConnections: UserConnections) {
    super();
  }

  async onConnected(): Promise<void> {
    await this.userConnections.add(this.context.userIdentifier!, this.context.connectionId);
  }

  async onDisconnected(): Promise<void> {
    await this.userConnections.remove(this.context.userIdentifier!, this.context.connectionId);
  }

  async subscribe(topic: string): Promise<void> {
    await this.groups.addToGroup(this.context.connectionId, requireText(topic, 'Topic'));
  }

  async unsubscribe(topic: string): Promise<void> {
    await this.groups.removeFromGroup(this.context.connectionId, requireText(topic, 'Topic'));
  }
}

/** The topic whose subscribers hear about every shipped or cancelled order. */
export const ORDERS_TOPIC = 'orders';
