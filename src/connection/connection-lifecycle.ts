import type { ConnectionState, TransportConnection } from './transport-connection.js';

/** Which states a connection may move to from each state; a move the table lacks does not happen. */
export type LifecycleTable = { readonly [S in ConnectionState]?: readonly ConnectionState[] };

/**
 * The life of a hub connection, as the connection loop (hub-connection-handler.ts) runs it. Every
 * change of `state` goes through `enter()` with this table; the steps are callbacks rather than one
 * async function per connection (a suspended async frame costs ~700 B per idle connection), so the
 * table is where the whole story reads in one place:
 *
 * | from        | event                                              | to          | then                                        |
 * |-------------|----------------------------------------------------|-------------|---------------------------------------------|
 * | negotiated  | a request starts the transport (endpoint's claim)  | handshaking | the tick times the handshake out            |
 * | negotiated  | no transport within disconnectTimeout, upgrade lost | closed      | the registry drops it; nothing else ran     |
 * | handshaking | a valid handshake request (completeHandshake)      | connecting  | lifetime.onConnected, then hub onConnected  |
 * | handshaking | bad handshake, handshake timeout, transport ended  | closed      | finish (no onDisconnected is owed)          |
 * | connecting  | onConnected completed (opened)                     | connected   | dispatch what queued meanwhile (pump)       |
 * | connecting  | onConnected threw (connectFailed)                  | closed      | Close with the error, finish                |
 * | connecting  | closed while onConnected runs                      | closed      | onDisconnected once onConnected completed   |
 * | connected   | Close message, abort(), timeouts, transport ended  | closed      | onDisconnected (disconnected), then finish  |
 * | connected   | a stateful connection's WebSocket broke off         | connected   | detachedAt set: a new socket re-attaches, or the tick closes it |
 *
 * `hubConnected` is set when onConnected completed: from then on onDisconnected is owed.
 */
export const HUB_CONNECTION_LIFECYCLE = {
  negotiated: ['handshaking', 'closed'],
  handshaking: ['connecting', 'closed'],
  connecting: ['connected', 'closed'],
  connected: ['closed'],
  closed: [],
} as const satisfies LifecycleTable;

/**
 * The life of a raw connection (a `@ConnectionHandler()`): no handshake, no hub.
 *
 * | from       | event                                              | to        | then                                     |
 * |------------|----------------------------------------------------|-----------|------------------------------------------|
 * | negotiated | a request starts the transport (endpoint's claim)  | connected | the handler's onConnected runs           |
 * | negotiated | no transport within disconnectTimeout, upgrade lost | closed    | the registry drops it                    |
 * | connected  | handler returned or threw, close(), transport ended, send buffer full | closed | the reader gets done, the transport closes |
 */
export const RAW_CONNECTION_LIFECYCLE = {
  negotiated: ['connected', 'closed'],
  connected: ['closed'],
  closed: [],
} as const satisfies LifecycleTable;

/**
 * Moves `connection` to `next` when `table` allows it from its current state (closing fires its
 * abort signal); false, and nothing changes, when it does not (a second close, say).
 */
export function enter(connection: TransportConnection, table: LifecycleTable, next: ConnectionState): boolean {
  if (!table[connection.state]?.includes(next)) return false;
  if (next === 'closed') connection.markClosed();
  else connection.state = next;
  return true;
}
