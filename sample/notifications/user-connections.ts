/**
 * Which notification-hub connections each signed-in user has open, so that a controller can ask one
 * of them for a client result (`clients.client(id).invoke`, which takes a single connection, as in
 * ASP.NET Core). In this process for `npm start` (MemoryUserConnections); in Redis when clustered
 * (RedisUserConnections), where a user's connection may be on any instance. An abstract class, so
 * that it is also the injection token.
 */
export abstract class UserConnections {
  abstract add(user: string, connectionId: string): Promise<void>;

  abstract remove(user: string, connectionId: string): Promise<void>;

  /**
   * The user's connections, most recently opened first (the tab they most likely look at). Clustered,
   * an instance that died without closing its connections leaves ids behind: `invoke` on one fails
   * with "Connection '…' does not exist.", and the caller removes it and tries the next.
   */
  abstract newestFirst(user: string): Promise<string[]>;
}

/** A user's connections on this instance, newest last. */
export class MemoryUserConnections extends UserConnections {
  private readonly byUser = new Map<string, string[]>();

  async add(user: string, connectionId: string): Promise<void> {
    const ids = this.byUser.get(user);
    if (ids === undefined) this.byUser.set(user, [connectionId]);
    else ids.push(connectionId);
  }

  async remove(user: string, connectionId: string): Promise<void> {
    const ids = this.byUser.get(user)?.filter((id) => id !== connectionId);
    if (ids === undefined || ids.length === 0) this.byUser.delete(user);
    else this.byUser.set(user, ids);
  }

  async newestFirst(user: string): Promise<string[]> {
    return [...(this.byUser.get(user) ?? [])].reverse();
  }
}
