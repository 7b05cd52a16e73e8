import type { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';
import { ClientProxy, TargetedClientProxy } from './client-proxy.js';

/**
 * Targets for sending to a hub's clients, with ASP.NET Core's vocabulary (`IHubClients`).
 *
 * @example
 * await hubContext.clients.all.send('announcement', 'maintenance at noon');
 * await hubContext.clients.groupExcept('room-1', [connectionId]).send('typing', 'ada');
 */
export class HubClients {
  private allProxy: ClientProxy | null = null;

  /** @internal */
  constructor(protected readonly lifetime: HubLifetimeManager) {}

  /** Every connection of the hub. */
  get all(): ClientProxy {
    return (this.allProxy ??= new TargetedClientProxy(this.lifetime, { kind: 'all' }));
  }

  /** Every connection except the listed connection ids. */
  allExcept(excludedConnectionIds: readonly string[]): ClientProxy {
    return new TargetedClientProxy(this.lifetime, { kind: 'all', except: excludedConnectionIds });
  }

  /** One connection. */
  client(connectionId: string): ClientProxy {
    return new TargetedClientProxy(this.lifetime, { kind: 'connection', id: connectionId });
  }

  /** The listed connections. */
  clients(connectionIds: readonly string[]): ClientProxy {
    return new TargetedClientProxy(this.lifetime, { kind: 'connections', ids: connectionIds });
  }

  /** Members of a group. */
  group(groupName: string): ClientProxy {
    return new TargetedClientProxy(this.lifetime, { kind: 'group', name: groupName });
  }

  /** Members of each listed group (a connection in two of them receives the message twice, as in ASP.NET Core). */
  groups(groupNames: readonly string[]): ClientProxy {
    return new TargetedClientProxy(this.lifetime, { kind: 'groups', names: groupNames });
  }

  /** Members of a group except the listed connection ids. */
  groupExcept(groupName: string, excludedConnectionIds: readonly string[]): ClientProxy {
    return new TargetedClientProxy(this.lifetime, { kind: 'group', name: groupName, except: excludedConnectionIds });
  }

  /** Every connection of a user (by user identifier). */
  user(userId: string): ClientProxy {
    return new TargetedClientProxy(this.lifetime, { kind: 'user', id: userId });
  }

  /** Every connection of each listed user. */
  users(userIds: readonly string[]): ClientProxy {
    return new TargetedClientProxy(this.lifetime, { kind: 'users', ids: userIds });
  }
}

/**
 * The targets of a hub method: everything `HubClients` offers plus the ones relative to the caller.
 *
 * @example
 * await this.clients.caller.send('welcome');
 * await this.clients.othersInGroup(room).send('joined', this.context.userIdentifier);
 */
export class HubCallerClients extends HubClients {
  private callerProxy: ClientProxy | null = null;
  private othersProxy: ClientProxy | null = null;

  /** @internal */
  constructor(
    lifetime: HubLifetimeManager,
    private readonly connectionId: string,
  ) {
    super(lifetime);
  }

  /** The connection that invoked the method. */
  get caller(): ClientProxy {
    return (this.callerProxy ??= this.client(this.connectionId));
  }

  /** Every connection except the caller. */
  get others(): ClientProxy {
    return (this.othersProxy ??= this.allExcept([this.connectionId]));
  }

  /** Members of a group except the caller. */
  othersInGroup(groupName: string): ClientProxy {
    return this.groupExcept(groupName, [this.connectionId]);
  }
}
