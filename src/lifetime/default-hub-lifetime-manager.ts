import type { HubConnection } from '../connection/hub-connection.js';
import { CompletionMessage, MessageType } from '../protocol/hub-messages.js';
import { ClientResults } from './client-results.js';
import { HubLifetimeManager } from './hub-lifetime-manager.js';
import { type HubPresence, PresenceListeners, presenceSubscription } from './hub-presence.js';
import { SerializedHubMessage, sendOutcome } from './serialized-hub-message.js';

const DONE = Promise.resolve();

function invocation(method: string, args: unknown[]): SerializedHubMessage {
  return new SerializedHubMessage({ type: MessageType.Invocation, target: method, arguments: args });
}

function isGroupName(groupName: unknown): groupName is string {
  return typeof groupName === 'string' && groupName.length > 0;
}

const emptyGroupForSend = () => Promise.reject(new TypeError('Cannot send to an empty group name.'));
const emptyGroupForMembership = () => Promise.reject(new TypeError('The group name must be a non-empty string.'));

/**
 * The in-memory lifetime manager: connections by id, groups and users indexed both ways so a
 * disconnect touches only that connection's own groups. Sends are synchronous writes into each
 * connection's tick buffer; the returned promise is a shared resolved one.
 */
export class DefaultHubLifetimeManager extends HubLifetimeManager {
  private readonly connections = new Map<string, HubConnection>();
  private readonly groups = new Map<string, Set<HubConnection>>();
  private readonly users = new Map<string, Set<HubConnection>>();
  private readonly results = new ClientResults();
  private readonly presenceListeners = new PresenceListeners();
  private presenceView: HubPresence | null = null;

  get connectionCount(): number {
    return this.connections.size;
  }

  get groupCount(): number {
    return this.groups.size;
  }

  /** Client-result calls still awaiting their Completion (for leak checks). */
  get pendingClientResults(): number {
    return this.results.pendingCount;
  }

  onConnected(connection: HubConnection): void {
    this.connections.set(connection.connectionId, connection);
    const userId = connection.userIdentifier;
    if (userId !== null && addTo(this.users, userId, connection)) this.presenceListeners.emit('joined', userId);
  }

  onDisconnected(connection: HubConnection): void {
    this.connections.delete(connection.connectionId);
    const userId = connection.userIdentifier;
    if (userId !== null && removeFrom(this.users, userId, connection)) this.presenceListeners.emit('left', userId);
    if (connection.groups !== null) {
      for (const groupName of connection.groups) removeFrom(this.groups, groupName, connection);
      connection.groups = null;
    }
  }

  sendAll(method: string, args: unknown[], excludedConnectionIds?: readonly string[]): Promise<void> {
    const message = invocation(method, args);
    const excluded = excludedConnectionIds !== undefined && excludedConnectionIds.length > 0 ? excludedConnectionIds : null;
    for (const connection of this.connections.values()) {
      if (excluded === null || !excluded.includes(connection.connectionId)) connection.writeSerialized(message);
    }
    return sendOutcome(message);
  }

  sendConnection(connectionId: string, method: string, args: unknown[]): Promise<void> {
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return DONE;
    const message = invocation(method, args);
    connection.writeSerialized(message);
    return sendOutcome(message);
  }

  sendConnections(connectionIds: readonly string[], method: string, args: unknown[]): Promise<void> {
    const message = invocation(method, args);
    for (const connectionId of connectionIds) this.connections.get(connectionId)?.writeSerialized(message);
    return sendOutcome(message);
  }

  sendGroup(groupName: string, method: string, args: unknown[], excludedConnectionIds?: readonly string[]): Promise<void> {
    if (!isGroupName(groupName)) return emptyGroupForSend();
    const members = this.groups.get(groupName);
    if (members === undefined) return DONE;
    const message = invocation(method, args);
    const excluded = excludedConnectionIds !== undefined && excludedConnectionIds.length > 0 ? excludedConnectionIds : null;
    for (const connection of members) {
      if (excluded === null || !excluded.includes(connection.connectionId)) connection.writeSerialized(message);
    }
    return sendOutcome(message);
  }

  /** Like ASP.NET Core, a connection in two of the listed groups receives the message twice. */
  sendGroups(groupNames: readonly string[], method: string, args: unknown[]): Promise<void> {
    if (!groupNames.every(isGroupName)) return emptyGroupForSend();
    const message = invocation(method, args);
    for (const groupName of groupNames) {
      const members = this.groups.get(groupName);
      if (members !== undefined) for (const connection of members) connection.writeSerialized(message);
    }
    return sendOutcome(message);
  }

  sendUser(userId: string, method: string, args: unknown[]): Promise<void> {
    const connections = this.users.get(userId);
    if (connections === undefined) return DONE;
    const message = invocation(method, args);
    for (const connection of connections) connection.writeSerialized(message);
    return sendOutcome(message);
  }

  sendUsers(userIds: readonly string[], method: string, args: unknown[]): Promise<void> {
    const message = invocation(method, args);
    for (const userId of userIds) {
      const connections = this.users.get(userId);
      if (connections !== undefined) for (const connection of connections) connection.writeSerialized(message);
    }
    return sendOutcome(message);
  }

  /** Presence in this process: the user index itself, so it costs nothing extra per connection. */
  override get presence(): HubPresence {
    return (this.presenceView ??= {
      onlineUsers: () => Promise.resolve(new Map([...this.users].map(([userId, set]) => [userId, set.size]))),
      connectionCount: (userId) => Promise.resolve(this.users.get(userId)?.size ?? 0),
      subscribe: (listener) => presenceSubscription(this.presenceListeners.add(listener)),
    });
  }

  override invokeConnection<T = unknown>(connectionId: string, method: string, args: unknown[], signal?: AbortSignal): Promise<T> {
    return this.results.invoke<T>(this.connections.get(connectionId), connectionId, method, args, signal);
  }

  override tryCompleteClientResult(connection: HubConnection, message: CompletionMessage): boolean {
    return this.results.tryComplete(connection, message);
  }

  /** Idempotent; a connection that is unknown or gone is ignored, as in ASP.NET Core. */
  addToGroup(connectionId: string, groupName: string): Promise<void> {
    if (!isGroupName(groupName)) return emptyGroupForMembership();
    const connection = this.connections.get(connectionId);
    if (connection === undefined || !connection.isOpen) return DONE;
    (connection.groups ??= new Set()).add(groupName);
    addTo(this.groups, groupName, connection);
    return DONE;
  }

  removeFromGroup(connectionId: string, groupName: string): Promise<void> {
    if (!isGroupName(groupName)) return emptyGroupForMembership();
    const connection = this.connections.get(connectionId);
    if (connection === undefined || connection.groups === null) return DONE;
    connection.groups.delete(groupName);
    removeFrom(this.groups, groupName, connection);
    return DONE;
  }
}

/** True when the entry was created. */
function addTo(index: Map<string, Set<HubConnection>>, key: string, connection: HubConnection): boolean {
  let set = index.get(key);
  const created = set === undefined;
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(connection);
  return created;
}

/** Removes the connection and drops the entry once empty, so nothing lingers; true when it was dropped. */
function removeFrom(index: Map<string, Set<HubConnection>>, key: string, connection: HubConnection): boolean {
  const set = index.get(key);
  if (set === undefined || !set.delete(connection)) return false;
  if (set.size === 0) index.delete(key);
  return set.size === 0;
}
