import type { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';
import { GroupManager } from './group-manager.js';
import { HubClients } from './hub-clients.js';

/**
 * A hub's clients and groups, for code outside the hub (ASP.NET Core's `IHubContext<THub>`).
 * Inject it with `@InjectHubContext(HubClass)`.
 *
 * @example
 * @Controller('orders')
 * export class OrdersController {
 *   constructor(@InjectHubContext(NotificationHub) private readonly notifications: HubContext) {}
 *   @Post(':id/ship')
 *   async ship(@Param('id') id: string) {
 *     await this.notifications.clients.all.send('orderShipped', id);
 *   }
 * }
 */
export class HubContext<THub = unknown> {
  readonly clients: HubClients;
  readonly groups: GroupManager;

  /** @internal */
  constructor(lifetime: HubLifetimeManager) {
    this.clients = new HubClients(lifetime);
    this.groups = new GroupManager(lifetime);
  }

  /** Only ties the type parameter to a hub class; holds nothing. */
  protected readonly hub?: THub;
}
