import { randomBytes } from 'crypto';
import type { Sweepable } from '../connection/keep-alive.js';
import type { TransportConnection } from '../connection/transport-connection.js';

/** 16 random bytes, base64url: 22 URL-safe characters, as ASP.NET Core makes them (a connection id, or a token). */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** A new connection's id and secret token: negotiate version 0 uses the id as the token; version 1 adds an independent one. */
export function newConnectionIds(negotiateVersion: number): { connectionId: string; connectionToken: string } {
  const connectionId = newId();
  return { connectionId, connectionToken: negotiateVersion >= 1 ? newId() : connectionId };
}

/**
 * Connections by their secret token (what clients send as `id=`). Negotiated connections that never
 * get a transport are reaped after the disconnect timeout; ended ones whose transport still holds
 * the client's last answer (a long poll's) stay until it is collected or that timeout passes.
 */
export class ConnectionRegistry<C extends TransportConnection = TransportConnection> implements Sweepable {
  private readonly byToken = new Map<string, C>();
  /** Ended connections kept for their client's last poll, with the time they ended. */
  private readonly lingering = new Map<C, number>();

  constructor(
    private readonly disconnectTimeout: (connection: C) => number,
    /** Told about a negotiated connection reaped because no transport came for it. */
    private readonly unclaimed?: (connection: C) => void,
  ) {}

  get size(): number {
    return this.byToken.size;
  }

  add<T extends C>(connection: T): T {
    this.byToken.set(connection.connectionToken, connection);
    return connection;
  }

  get(token: string): C | undefined {
    return this.byToken.get(token);
  }

  values(): IterableIterator<C> {
    return this.byToken.values();
  }

  remove(connection: C): void {
    if (this.byToken.get(connection.connectionToken) === connection) this.byToken.delete(connection.connectionToken);
    this.lingering.delete(connection);
  }

  /**
   * A connection has ended. It goes at once, unless its transport still holds bytes for the client
   * (a long poll's Close message): then it stays until collected or the disconnect timeout passes.
   */
  release(connection: C, now = Date.now()): void {
    if (!connection.transport?.lingering) this.remove(connection);
    else if (!this.lingering.has(connection)) this.lingering.set(connection, now);
  }

  sweep(now: number): void {
    for (const connection of this.byToken.values()) {
      if (connection.state === 'negotiated' && now - connection.createdAt >= this.disconnectTimeout(connection)) {
        this.byToken.delete(connection.connectionToken);
        this.unclaimed?.(connection);
      }
    }
    for (const [connection, since] of this.lingering) {
      if (!connection.transport?.lingering || now - since >= this.disconnectTimeout(connection)) this.remove(connection);
    }
  }

  clear(): void {
    this.byToken.clear();
    this.lingering.clear();
  }
}
