import { Hub } from '../../src/index.js';
import { requireText } from '../validation.js';

/**
 * Notifications pushed from outside the hub (see OrdersController), for signed-in users only: a
 * request without a valid token gets 401, which the official client reports as
 * "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'".
 * Clients subscribe to topics, which are groups; every connection of a user also gets what is sent
 * to them with `clients.user(sub)` without subscribing. Client event: `orderShipped(order)`.
 */
@Hub('/hubs/notifications', { requireAuthentication: true })
export class NotificationHub extends Hub {
  async subscribe(topic: string): Promise<void> {
    await this.groups.addToGroup(this.context.connectionId, requireText(topic, 'Topic'));
  }

  async unsubscribe(topic: string): Promise<void> {
    await this.groups.removeFromGroup(this.context.connectionId, requireText(topic, 'Topic'));
  }
}

/** The topic whose subscribers hear about every shipped order. */
export const ORDERS_TOPIC = 'orders';
