import { randomBytes } from 'crypto';
import { HubConnection } from '../connection/hub-connection.js';
import type { Sweepable } from '../connection/keep-alive.js';
import type { ResolvedHubOptions } from '../interfaces/signalr-options.interface.js';

/** 16 random bytes, base64url: 22 URL-safe characters, as ASP.NET Core makes them. */
function newId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Every connection of the module by its secret token (what clients send as `id=`). Negotiated
 * connections that never get a transport are reaped after the disconnect timeout.
 */
export class ConnectionRegistry implements Sweepable {
  private readonly byToken = new Map<string, HubConnection>();
  /** Ended connections kept for their client's last poll, with the time they ended. */
  private readonly lingering = new Map<HubConnection, number>();

  get size(): number {
    return this.byToken.size;
  }

  /** Negotiate version 0 uses the id as the token; version 1 adds an independent secret token. */
  create(hubPath: string, options: ResolvedHubOptions, negotiateVersion: number): HubConnection {
    const connectionId = newId();
    const token = negotiateVersion >= 1 ? newId() : connectionId;
    const connection = new HubConnection(connectionId, token, hubPath, options);
    this.byToken.set(token, connection);
    return connection;
  }

  get(token: string): HubConnection | undefined {
    return this.byToken.get(token);
  }

  remove(connection: HubConnection): void {
    if (this.byToken.get(connection.connectionToken) === connection) this.byToken.delete(connection.connectionToken);
    this.lingering.delete(connection);
  }

  /**
   * A connection has ended. It goes at once, unless its transport still holds bytes for the client
   * (a long poll's Close message): then it stays until collected or the disconnect timeout passes.
   */
  release(connection: HubConnection, now = Date.now()): void {
    if (connection.transport?.lingering) this.lingering.set(connection, now);
    else this.remove(connection);
  }

  sweep(now: number): void {
    for (const connection of this.byToken.values()) {
      if (connection.state === 'negotiated' && now - connection.createdAt >= connection.options.disconnectTimeout) this.remove(connection);
    }
    for (const [connection, since] of this.lingering) {
      if (!connection.transport?.lingering || now - since >= connection.options.disconnectTimeout) this.remove(connection);
    }
  }

  clear(): void {
    this.byToken.clear();
    this.lingering.clear();
  }
}
