import type { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';
import type { HubPresence } from '../lifetime/hub-presence.js';
import { GroupManager } from './group-manager.js';
import { HubClients, type HubCallerClients } from './hub-clients.js';

/**
 * The client interface a hub class declared with `extends Hub<TClient>`; `any` (untyped) for a hub
 * that extends plain `Hub` or does not extend it.
 */
export type ClientOf<THub> = THub extends { readonly clients: HubCallerClients<infer TClient> } ? TClient : any;

/**
 * A hub's clients and groups, for code outside the hub (ASP.NET Core's `IHubContext<THub>` and
 * `IHubContext<THub, T>`). Inject it with `@InjectHubContext(HubClass)`. The client interface comes from
 * the hub class (`class ChatHub extends Hub<ChatClient>`), or is given as the second type argument
 * (see `TypedHubContext`); without one, targets only offer `send`.
 *
 * @example
 * @Controller('orders')
 * export class OrdersController {
 *   constructor(@InjectHubContext(NotificationHub) private readonly notifications: HubContext<NotificationHub>) {}
 *   @Post(':id/ship')
 *   async ship(@Param('id') id: string) {
 *     await this.notifications.clients.all.orderShipped(id); // or .send('orderShipped', id)
 *   }
 * }
 */
export class HubContext<THub = unknown, TClient = ClientOf<THub>> {
  readonly clients: HubClients<TClient>;
  readonly groups: GroupManager;

  /** @internal */
  constructor(private readonly lifetime: HubLifetimeManager) {
    this.clients = new HubClients(lifetime);
    this.groups = new GroupManager(lifetime);
  }

  /**
   * Who is connected to the hub, by user: on every instance with a backplane, in this process
   * without one (see `HubPresence`).
   *
   * @example
   * const online = await this.chat.presence.onlineUsers(); // Map { 'ada' => 2 }
   * this.chat.presence.subscribe(({ type, userId }) => this.audit.log(`${userId} ${type}`));
   */
  get presence(): HubPresence {
    return this.lifetime.presence;
  }

  /** Only ties the type parameter to a hub class; holds nothing. */
  protected readonly hub?: THub;
}

/**
 * A hub context typed by its client interface alone, as `IHubContext<THub, T>` when the hub class is not
 * at hand (or does not extend `Hub<T>`).
 *
 * @example
 * constructor(@InjectHubContext(OrdersHub) private readonly orders: TypedHubContext<OrdersClient>) {}
 */
export type TypedHubContext<TClient> = HubContext<unknown, TClient>;
