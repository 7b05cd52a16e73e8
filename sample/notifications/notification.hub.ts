import { Hub } from '../../src/index.js';
import { requireText } from '../validation.js';

/**
 * Notifications pushed from outside the hub (see OrdersController). Clients subscribe to topics,
 * which are groups; a signed-in user also gets what is sent to them with `clients.user(...)`
 * without subscribing. Client event: `orderShipped(order)`.
 */
@Hub('/hubs/notifications')
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
