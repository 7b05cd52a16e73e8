import type { SerializedMessage } from '../protocol/serialized-message.js';
import type { HubMessage } from '../protocol/hub-messages.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';

/**
 * What a lifetime manager is given of one hub connection (ASP.NET Core's `HubConnectionContext`, the
 * part fan-out needs): who it is, its protocol, and writes queued for the end of the tick. A
 * third-party `HubLifetimeManager` is typed against it.
 *
 * @example
 * class MyLifetimeManager extends HubLifetimeManager {
 *   private readonly connections = new Map<string, HubConnectionContext>();
 *   onConnected(connection: HubConnectionContext) { this.connections.set(connection.connectionId, connection); }
 *   onDisconnected(connection: HubConnectionContext) { this.connections.delete(connection.connectionId); }
 *   // send(target, method, args): build one SerializedHubMessage, writeSerialized it to each recipient
 * }
 */
export interface HubConnectionContext {
  /** The id the client was given by negotiate; targets name connections by it. */
  readonly connectionId: string;
  /** The user's identifier (from `userIdProvider`), or null for an anonymous connection. */
  readonly userIdentifier: string | null;
  /** The hub protocol the client chose in its handshake; null before it. */
  readonly protocol: HubProtocol | null;
  /** False once the connection ended; writes are dropped from then on. */
  readonly isOpen: boolean;
  /** Fires when the connection ends (ASP.NET Core's `ConnectionAborted`). */
  readonly abortSignal: AbortSignal;
  /** Encodes one message with the connection's protocol and queues it; throws what the encoder throws. */
  write(message: HubMessage): void;
  /**
   * Queues a message encoded once for every recipient of a send (a `SerializedHubMessage`); a
   * protocol that gave no bytes (null) skips this connection.
   */
  writeSerialized(message: SerializedMessage): void;
}

/**
 * The library's own connections as its in-process managers see them: the public context, plus the
 * connection's group names (kept on it so a disconnect touches only its own groups, with no extra
 * map entry per connection) and its client-result cap.
 */
export interface LocalConnection extends HubConnectionContext {
  groups: Set<string> | null;
  readonly options: { readonly maximumPendingClientResultsPerClient: number };
}
