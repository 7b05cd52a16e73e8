import { MessageType } from '../protocol/hub-messages.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import type { HubConnection } from './hub-connection.js';

/** What the shared tick owes a connection now: one timeout, one keep-alive ping, or nothing. */
export type DueOnTick = 'handshake-timeout' | 'authentication-expired' | 'client-timeout' | 'ping' | null;

/**
 * The handshake timeout, `closeOnAuthenticationExpiration`, the client timeout (armed by the client's
 * first ping) and the keep-alive ping (not on long polling, which keeps itself alive), in that order.
 */
export function dueOnTick(connection: HubConnection, now: number): DueOnTick {
  const options = connection.options;
  if (connection.state === 'handshaking') return now - connection.createdAt >= options.handshakeTimeout ? 'handshake-timeout' : null;
  if (connection.state !== 'connected' && connection.state !== 'connecting') return null;
  if (connection.authExpiresAt !== null && now >= connection.authExpiresAt) return 'authentication-expired';
  if (connection.clientTimeoutArmed && now - connection.lastReceivedAt >= options.clientTimeoutInterval) return 'client-timeout';
  if (now - connection.lastSentAt >= options.keepAliveInterval && connection.protocol !== null && connection.transport?.name !== 'LongPolling') return 'ping';
  return null;
}

/** Each protocol's Ping, encoded once and shared by every connection. */
export class PingBytes {
  private readonly bytes = new Map<HubProtocol, Buffer>();

  of(protocol: HubProtocol): Buffer {
    let bytes = this.bytes.get(protocol);
    if (bytes === undefined) {
      bytes = protocol.writeMessage({ type: MessageType.Ping });
      this.bytes.set(protocol, bytes);
    }
    return bytes;
  }
}
