import type { HubConnection, SerializedMessage } from '../connection/hub-connection.js';
import { SerializedHubMessage } from '../lifetime/serialized-hub-message.js';
import { MessageType } from '../protocol/hub-messages.js';

/** This instance's connections by group or user. */
export type Index = Map<string, Set<HubConnection>>;

/** Adds `connection` under `key`; true when the entry was created (the first local member: subscribe). */
export function addTo(index: Index, key: string, connection: HubConnection): boolean {
  let set = index.get(key);
  const created = set === undefined;
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(connection);
  return created;
}

/** Removes `connection` from `key`; true when the entry became empty and was dropped (unsubscribe). */
export function removeFrom(index: Index, key: string, connection: HubConnection): boolean {
  const set = index.get(key);
  if (set === undefined || !set.delete(connection) || set.size > 0) return false;
  index.delete(key);
  return true;
}

/** A client invocation without id, serialized at most once per protocol. */
export function invocation(method: string, args: unknown[]): SerializedHubMessage {
  return new SerializedHubMessage({ type: MessageType.Invocation, target: method, arguments: args });
}

/** Writes the same bytes to every recipient not excluded. */
export function writeAll(recipients: Iterable<HubConnection>, message: SerializedMessage, excludedConnectionIds: readonly string[] | undefined): void {
  const excluded = excludedConnectionIds !== undefined && excludedConnectionIds.length > 0 ? excludedConnectionIds : null;
  for (const connection of recipients) {
    if (excluded === null || !excluded.includes(connection.connectionId)) connection.writeSerialized(message);
  }
}
