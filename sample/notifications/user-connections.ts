import { Injectable } from '@nestjs/common';

/**
 * Which notification-hub connections each signed-in user has open on this instance, newest last, so
 * that a controller can ask one of them for a client result (`clients.client(id).invoke`, which takes
 * a single connection, as in ASP.NET Core).
 */
@Injectable()
export class UserConnections {
  private readonly byUser = new Map<string, string[]>();

  add(user: string, connectionId: string): void {
    const ids = this.byUser.get(user);
    if (ids === undefined) this.byUser.set(user, [connectionId]);
    else ids.push(connectionId);
  }

  remove(user: string, connectionId: string): void {
    const ids = this.byUser.get(user)?.filter((id) => id !== connectionId);
    if (ids === undefined || ids.length === 0) this.byUser.delete(user);
    else this.byUser.set(user, ids);
  }

  /** The user's most recently opened connection: the tab they most likely look at. */
  newest(user: string): string | undefined {
    return this.byUser.get(user)?.at(-1);
  }
}
