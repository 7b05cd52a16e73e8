import type { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';

/**
 * Adds and removes connections to and from a hub's groups (ASP.NET Core's `IGroupManager`).
 * Memberships live as long as the connection; adding is idempotent; an unknown connection is ignored.
 *
 * @example
 * await this.groups.addToGroup(this.context.connectionId, 'room-1');
 */
export class GroupManager {
  /** @internal */
  constructor(private readonly lifetime: HubLifetimeManager) {}

  addToGroup(connectionId: string, groupName: string): Promise<void> {
    return this.lifetime.addToGroup(connectionId, groupName);
  }

  removeFromGroup(connectionId: string, groupName: string): Promise<void> {
    return this.lifetime.removeFromGroup(connectionId, groupName);
  }
}
