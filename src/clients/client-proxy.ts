import type { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';

/**
 * A set of clients to call a method on, as ASP.NET Core's `IClientProxy`. `send` resolves once the
 * message is queued for every recipient; sending to nobody is not an error.
 *
 * @example
 * await this.clients.group('room-1').send('message', 'ada', 'hello');
 */
export interface ClientProxy {
  send(method: string, ...args: unknown[]): Promise<void>;
}

type Target =
  | { kind: 'all'; except?: readonly string[] }
  | { kind: 'connection'; id: string }
  | { kind: 'connections'; ids: readonly string[] }
  | { kind: 'group'; name: string; except?: readonly string[] }
  | { kind: 'groups'; names: readonly string[] }
  | { kind: 'user'; id: string }
  | { kind: 'users'; ids: readonly string[] };

/** One immutable target; each send goes to the lifetime manager in one call. */
export class TargetedClientProxy implements ClientProxy {
  constructor(
    private readonly lifetime: HubLifetimeManager,
    private readonly target: Target,
  ) {}

  send(method: string, ...args: unknown[]): Promise<void> {
    if (typeof method !== 'string' || method.length === 0) {
      return Promise.reject(new TypeError('The client method name must be a non-empty string.'));
    }
    const target = this.target;
    switch (target.kind) {
      case 'all':
        return this.lifetime.sendAll(method, args, target.except);
      case 'connection':
        return this.lifetime.sendConnection(target.id, method, args);
      case 'connections':
        return this.lifetime.sendConnections(target.ids, method, args);
      case 'group':
        return this.lifetime.sendGroup(target.name, method, args, target.except);
      case 'groups':
        return this.lifetime.sendGroups(target.names, method, args);
      case 'user':
        return this.lifetime.sendUser(target.id, method, args);
      case 'users':
        return this.lifetime.sendUsers(target.ids, method, args);
    }
  }
}
