import { HubConnection } from '../../src/connection/hub-connection.js';
import type { ResolvedHubOptions } from '../../src/interfaces/signalr-options.interface.js';
import { DEFAULT_HUB_OPTIONS } from '../../src/signalr.constants.js';
import { ConnectionRegistry, newConnectionIds } from '../../src/transports/connection-registry.js';

const options: ResolvedHubOptions = { ...DEFAULT_HUB_OPTIONS };
const URL_SAFE_ID = /^[A-Za-z0-9_-]{22}$/;

function hubRegistry(unclaimed?: (connection: HubConnection) => void): ConnectionRegistry<HubConnection> {
  return new ConnectionRegistry<HubConnection>((connection) => connection.options.disconnectTimeout, unclaimed);
}

function register(registry: ConnectionRegistry<HubConnection>, negotiateVersion = 1): HubConnection {
  const { connectionId, connectionToken } = newConnectionIds(negotiateVersion);
  return registry.add(new HubConnection(connectionId, connectionToken, '/hubs/a', options));
}

/** A transport stand-in that says whether it still holds the client's last answer. */
function lingeringTransport(connection: HubConnection, lingering: { value: boolean }): void {
  (connection as { transport: unknown }).transport = {
    get lingering() {
      return lingering.value;
    },
  };
}

describe('ConnectionRegistry', () => {
  it('makes 22-character URL-safe ids; version 1 adds a different token, version 0 uses the id as token', () => {
    const registry = hubRegistry();
    const v1 = register(registry, 1);
    const v0 = register(registry, 0);
    expect(v1.connectionId).toMatch(URL_SAFE_ID);
    expect(v1.connectionToken).toMatch(URL_SAFE_ID);
    expect(v1.connectionToken).not.toBe(v1.connectionId);
    expect(v0.connectionToken).toBe(v0.connectionId);
    // Looked up by the token only: a v1 connection's public id does not open it.
    expect(registry.get(v1.connectionToken)).toBe(v1);
    expect(registry.get(v1.connectionId)).toBeUndefined();
    expect(registry.get(v0.connectionId)).toBe(v0);
    expect(registry.size).toBe(2);
  });

  it('makes a new random id every time', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { connectionId, connectionToken } = newConnectionIds(1);
      ids.add(connectionId).add(connectionToken);
    }
    expect(ids.size).toBe(400);
  });

  it('reaps a negotiated connection that never got a transport after the 15 s DisconnectTimeout, and says so', () => {
    expect(DEFAULT_HUB_OPTIONS.disconnectTimeout).toBe(15_000);
    const reaped: HubConnection[] = [];
    const registry = hubRegistry((connection) => reaped.push(connection));
    const idle = register(registry);
    const used = register(registry);
    used.state = 'connected';
    // The boundary is the idle connection's own age (the two may be created a millisecond apart).
    const created = idle.createdAt;

    registry.sweep(created + DEFAULT_HUB_OPTIONS.disconnectTimeout - 1);
    expect(registry.get(idle.connectionToken)).toBe(idle);
    expect(registry.size).toBe(2);
    expect(reaped).toEqual([]);

    registry.sweep(created + DEFAULT_HUB_OPTIONS.disconnectTimeout);
    expect(registry.get(idle.connectionToken)).toBeUndefined();
    expect(registry.get(used.connectionToken)).toBe(used);
    expect(registry.size).toBe(1);
    expect(reaped).toEqual([idle]);

    // A connection with a transport is never reaped by age; its transport ends it.
    registry.sweep(created + 10 * DEFAULT_HUB_OPTIONS.disconnectTimeout);
    expect(registry.size).toBe(1);
    expect(reaped).toEqual([idle]);
  });

  it('keeps connections that are mid-handshake', () => {
    const registry = hubRegistry();
    const connection = register(registry, 0);
    connection.state = 'handshaking';
    registry.sweep(connection.createdAt + DEFAULT_HUB_OPTIONS.disconnectTimeout * 2);
    expect(registry.get(connection.connectionToken)).toBe(connection);
  });

  it('keeps a released connection whose transport holds the last answer until it is collected or the timeout passes', () => {
    const registry = hubRegistry();
    const collected = register(registry);
    const forgotten = register(registry);
    const pending = { value: true };
    const stale = { value: true };
    lingeringTransport(collected, pending);
    lingeringTransport(forgotten, stale);
    registry.release(collected, 1_000);
    registry.release(forgotten, 1_000);
    registry.release(forgotten, 5_000); // a second release keeps the first time
    registry.sweep(2_000);
    expect(registry.size).toBe(2);

    pending.value = false; // the client's poll took the answer
    registry.sweep(2_001);
    expect(registry.get(collected.connectionToken)).toBeUndefined();
    expect(registry.get(forgotten.connectionToken)).toBe(forgotten);

    registry.sweep(1_000 + DEFAULT_HUB_OPTIONS.disconnectTimeout);
    expect(registry.size).toBe(0);
  });

  it('removes only the registered instance', () => {
    const registry = hubRegistry();
    const connection = register(registry);
    registry.remove(connection);
    expect(registry.size).toBe(0);
    registry.remove(connection);
    expect(registry.size).toBe(0);
  });
});
