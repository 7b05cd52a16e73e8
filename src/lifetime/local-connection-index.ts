import type { SerializedMessage } from '../protocol/serialized-message.js';
import type { LocalConnection } from './hub-connection-context.js';
import type { HubTarget } from './hub-target.js';

/**
 * This process's connections of one hub, by id, by group and by user (ASP.NET Core's
 * `HubConnectionStore` and `HubGroupList` in one), and the resolution of a `HubTarget` to the
 * local connections it reaches. Both lifetime managers keep one: in memory it is the whole
 * manager; on Redis it serves local sends and what arrives from the channels.
 *
 * Groups and users are indexed both ways (each connection keeps its group names), so a disconnect
 * touches only that connection's groups; an entry goes with its last member, so nothing lingers.
 * Writes go straight into each connection's tick buffer: no promise or closure per recipient.
 */
export class LocalConnectionIndex<C extends LocalConnection = LocalConnection> {
  private readonly connections = new Map<string, C>();
  private readonly groups = new Map<string, Set<C>>();
  private readonly users = new Map<string, Set<C>>();

  get connectionCount(): number {
    return this.connections.size;
  }

  get groupCount(): number {
    return this.groups.size;
  }

  get userCount(): number {
    return this.users.size;
  }

  get(connectionId: string): C | undefined {
    return this.connections.get(connectionId);
  }

  /** Indexes a connection (and its user); true when it is its user's first connection here. */
  add(connection: C): boolean {
    this.connections.set(connection.connectionId, connection);
    const userId = connection.userIdentifier;
    return userId !== null && addTo(this.users, userId, connection);
  }

  /**
   * Forgets a connection with its user and group memberships; `groupEmptied` hears each group
   * left without a member here. True when it was its user's last connection here.
   */
  remove(connection: C, groupEmptied?: (groupName: string) => void): boolean {
    this.connections.delete(connection.connectionId);
    const groups = connection.groups;
    if (groups !== null) {
      connection.groups = null;
      for (const groupName of groups) if (removeFrom(this.groups, groupName, connection)) groupEmptied?.(groupName);
    }
    const userId = connection.userIdentifier;
    return userId !== null && removeFrom(this.users, userId, connection);
  }

  /** Adds an open connection to a group (idempotent); true when the group had no member here before. */
  addToGroup(connection: C, groupName: string): boolean {
    if (!connection.isOpen) return false;
    (connection.groups ??= new Set()).add(groupName);
    return addTo(this.groups, groupName, connection);
  }

  /** True when the group lost its last member here. */
  removeFromGroup(connection: C, groupName: string): boolean {
    if (connection.groups === null || !connection.groups.delete(groupName)) return false;
    return removeFrom(this.groups, groupName, connection);
  }

  /** Writes `message` to every local connection `target` reaches. */
  write(target: HubTarget, message: SerializedMessage): void {
    switch (target.kind) {
      case 'all':
        return writeEach(this.connections.values(), message, target.except);
      case 'connection':
        return this.connections.get(target.id)?.writeSerialized(message);
      case 'connections':
        for (const connectionId of target.ids) this.connections.get(connectionId)?.writeSerialized(message);
        return;
      case 'group':
        return writeEach(this.groups.get(target.name), message, target.except);
      case 'groups':
        for (const groupName of target.names) writeEach(this.groups.get(groupName), message, undefined);
        return;
      case 'user':
        return writeEach(this.users.get(target.id), message, undefined);
      case 'users':
        for (const userId of target.ids) writeEach(this.users.get(userId), message, undefined);
        return;
    }
  }

  /** How many connections `userId` has here (0 for none). */
  userConnectionCount(userId: string): number {
    return this.users.get(userId)?.size ?? 0;
  }

  /** Users with a connection here, with their connection counts (a copy). */
  onlineUsers(): Map<string, number> {
    const online = new Map<string, number>();
    for (const [userId, connections] of this.users) online.set(userId, connections.size);
    return online;
  }
}

/** Writes the same bytes to every recipient not excluded. */
function writeEach<C extends LocalConnection>(recipients: Iterable<C> | undefined, message: SerializedMessage, except: readonly string[] | undefined): void {
  if (recipients === undefined) return;
  const excluded = except !== undefined && except.length > 0 ? except : null;
  for (const connection of recipients) {
    if (excluded === null || !excluded.includes(connection.connectionId)) connection.writeSerialized(message);
  }
}

/** True when the entry was created. */
function addTo<C>(index: Map<string, Set<C>>, key: string, connection: C): boolean {
  const set = index.get(key);
  if (set !== undefined) {
    set.add(connection);
    return false;
  }
  index.set(key, new Set<C>().add(connection));
  return true;
}

/** Removes the connection and drops the entry once empty; true when it was dropped. */
function removeFrom<C>(index: Map<string, Set<C>>, key: string, connection: C): boolean {
  const set = index.get(key);
  if (set === undefined || !set.delete(connection) || set.size > 0) return false;
  index.delete(key);
  return true;
}
