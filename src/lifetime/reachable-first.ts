import type { ConnectionDispatcher } from '../connection/connection-contracts.js';
import { HubLifetimeManager } from './hub-lifetime-manager.js';

/**
 * The hub's dispatcher, with its onConnected held until the lifetime manager can route sends to
 * the new connection from anywhere (a backplane's channel subscriptions), so that whatever the
 * hook or the client's first invocation triggers elsewhere can reach it. A manager that is ready
 * at once (it keeps the base `whenReachable`) gets the dispatcher itself.
 */
export function reachableFirst(dispatcher: ConnectionDispatcher, lifetime: HubLifetimeManager): ConnectionDispatcher {
  if (lifetime.whenReachable === HubLifetimeManager.prototype.whenReachable) return dispatcher;
  return {
    onConnected: (connection) => {
      const reachable = lifetime.whenReachable(connection);
      return reachable === undefined ? dispatcher.onConnected(connection) : reachable.then(() => dispatcher.onConnected(connection));
    },
    onDisconnected: (connection, error) => dispatcher.onDisconnected(connection, error),
    dispatch: (connection, message, slot) => dispatcher.dispatch(connection, message, slot),
  };
}
