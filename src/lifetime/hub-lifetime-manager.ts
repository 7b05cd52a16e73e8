import type { ConnectionLifetime } from '../connection/hub-connection-handler.js';
import type { HubConnection } from '../connection/hub-connection.js';

/**
 * Fan-out for one hub: which connections a send reaches, and group membership. The in-memory
 * default serves one process; a backplane implementation spreads the same calls across instances.
 * Methods mirror ASP.NET Core's HubLifetimeManager; each send serializes once per protocol.
 */
export abstract class HubLifetimeManager implements ConnectionLifetime {
  abstract onConnected(connection: HubConnection): void;
  abstract onDisconnected(connection: HubConnection): void;

  abstract sendAll(method: string, args: unknown[], excludedConnectionIds?: readonly string[]): Promise<void>;
  abstract sendConnection(connectionId: string, method: string, args: unknown[]): Promise<void>;
  abstract sendConnections(connectionIds: readonly string[], method: string, args: unknown[]): Promise<void>;
  abstract sendGroup(groupName: string, method: string, args: unknown[], excludedConnectionIds?: readonly string[]): Promise<void>;
  abstract sendGroups(groupNames: readonly string[], method: string, args: unknown[]): Promise<void>;
  abstract sendUser(userId: string, method: string, args: unknown[]): Promise<void>;
  abstract sendUsers(userIds: readonly string[], method: string, args: unknown[]): Promise<void>;

  abstract addToGroup(connectionId: string, groupName: string): Promise<void>;
  abstract removeFromGroup(connectionId: string, groupName: string): Promise<void>;
}
