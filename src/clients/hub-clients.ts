import type { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';
import { TargetedClientProxy, type TypedClientProxy, type TypedSingleClientProxy } from './client-proxy.js';

type Target = ConstructorParameters<typeof TargetedClientProxy>[1];

/** A proxy for one target; typed for `TClient` (the cast is the one place the runtime meets the types). */
function proxy<TClient>(lifetime: HubLifetimeManager, target: Target, memoize = false): TypedClientProxy<TClient> {
  return new TargetedClientProxy(lifetime, target, memoize) as unknown as TypedClientProxy<TClient>;
}

/**
 * Targets for sending to a hub's clients, with ASP.NET Core's vocabulary (`IHubClients<T>`). With a client
 * interface `TClient`, every target also offers its methods as type-checked calls (see `TypedClientProxy`).
 *
 * @example
 * await hubContext.clients.all.send('announcement', 'maintenance at noon');
 * await hubContext.clients.groupExcept('room-1', [connectionId]).send('typing', 'ada');
 * await typedContext.clients.group('orders').orderShipped(orderId);
 */
export class HubClients<TClient = any> {
  private allProxy: TypedClientProxy<TClient> | null = null;

  /** @internal Whether client results are allowed now (a hub scope refuses them during onConnected). */
  protected readonly invokeAllowed: (() => boolean) | undefined = undefined;

  /** @internal */
  constructor(protected readonly lifetime: HubLifetimeManager) {}

  /** Every connection of the hub. */
  get all(): TypedClientProxy<TClient> {
    return (this.allProxy ??= proxy<TClient>(this.lifetime, { kind: 'all' }, true));
  }

  /** Every connection except the listed connection ids. */
  allExcept(excludedConnectionIds: readonly string[]): TypedClientProxy<TClient> {
    return proxy<TClient>(this.lifetime, { kind: 'all', except: excludedConnectionIds });
  }

  /** One connection; it also offers `invoke` (client results). */
  client(connectionId: string): TypedSingleClientProxy<TClient> {
    return proxy<TClient>(this.lifetime, { kind: 'connection', id: connectionId, invokeAllowed: this.invokeAllowed }) as TypedSingleClientProxy<TClient>;
  }

  /** The listed connections. */
  clients(connectionIds: readonly string[]): TypedClientProxy<TClient> {
    return proxy<TClient>(this.lifetime, { kind: 'connections', ids: connectionIds });
  }

  /** Members of a group. */
  group(groupName: string): TypedClientProxy<TClient> {
    return proxy<TClient>(this.lifetime, { kind: 'group', name: groupName });
  }

  /** Members of each listed group (a connection in two of them receives the message twice, as in ASP.NET Core). */
  groups(groupNames: readonly string[]): TypedClientProxy<TClient> {
    return proxy<TClient>(this.lifetime, { kind: 'groups', names: groupNames });
  }

  /** Members of a group except the listed connection ids. */
  groupExcept(groupName: string, excludedConnectionIds: readonly string[]): TypedClientProxy<TClient> {
    return proxy<TClient>(this.lifetime, { kind: 'group', name: groupName, except: excludedConnectionIds });
  }

  /** Every connection of a user (by user identifier). */
  user(userId: string): TypedClientProxy<TClient> {
    return proxy<TClient>(this.lifetime, { kind: 'user', id: userId });
  }

  /** Every connection of each listed user. */
  users(userIds: readonly string[]): TypedClientProxy<TClient> {
    return proxy<TClient>(this.lifetime, { kind: 'users', ids: userIds });
  }
}

/**
 * The targets of a hub method: everything `HubClients` offers plus the ones relative to the caller
 * (ASP.NET Core's `IHubCallerClients<T>`).
 *
 * @example
 * await this.clients.caller.send('welcome');
 * await this.clients.othersInGroup(room).userJoined(room, this.context.userIdentifier);
 */
export class HubCallerClients<TClient = any> extends HubClients<TClient> {
  private callerProxy: TypedSingleClientProxy<TClient> | null = null;
  /** @internal */
  protected override readonly invokeAllowed: (() => boolean) | undefined;
  private othersProxy: TypedClientProxy<TClient> | null = null;

  /** @internal */
  constructor(
    lifetime: HubLifetimeManager,
    private readonly connectionId: string,
    invokeAllowed?: () => boolean,
  ) {
    super(lifetime);
    this.invokeAllowed = invokeAllowed;
  }

  /** The connection that invoked the method; it also offers `invoke` (client results). */
  get caller(): TypedSingleClientProxy<TClient> {
    const target = { kind: 'connection', id: this.connectionId, invokeAllowed: this.invokeAllowed } as const;
    return (this.callerProxy ??= proxy<TClient>(this.lifetime, target, true) as TypedSingleClientProxy<TClient>);
  }

  /** Every connection except the caller. */
  get others(): TypedClientProxy<TClient> {
    return (this.othersProxy ??= proxy<TClient>(this.lifetime, { kind: 'all', except: [this.connectionId] }, true));
  }

  /** Members of a group except the caller. */
  othersInGroup(groupName: string): TypedClientProxy<TClient> {
    return this.groupExcept(groupName, [this.connectionId]);
  }
}
