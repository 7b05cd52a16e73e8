import type { ResolvedHubOptions } from '../../src/interfaces/signalr-options.interface.js';
import { DEFAULT_HUB_OPTIONS } from '../../src/signalr.constants.js';
import { ConnectionRegistry } from '../../src/transports/connection-registry.js';

const options: ResolvedHubOptions = { ...DEFAULT_HUB_OPTIONS };
const URL_SAFE_ID = /^[A-Za-z0-9_-]{22}$/;

describe('ConnectionRegistry', () => {
  it('makes 22-character URL-safe ids; version 1 adds a different token, version 0 uses the id as token', () => {
    const registry = new ConnectionRegistry();
    const v1 = registry.create('/hubs/a', options, 1);
    const v0 = registry.create('/hubs/a', options, 0);
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
    const registry = new ConnectionRegistry();
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const connection = registry.create('/hubs/a', options, 1);
      ids.add(connection.connectionId).add(connection.connectionToken);
    }
    expect(ids.size).toBe(400);
  });

  it('reaps a negotiated connection that never got a transport after the 15 s DisconnectTimeout', () => {
    expect(DEFAULT_HUB_OPTIONS.disconnectTimeout).toBe(15_000);
    const registry = new ConnectionRegistry();
    const idle = registry.create('/hubs/a', options, 1);
    const used = registry.create('/hubs/a', options, 1);
    used.state = 'connected';
    // The boundary is the idle connection's own age (the two may be created a millisecond apart).
    const created = idle.createdAt;

    registry.sweep(created + DEFAULT_HUB_OPTIONS.disconnectTimeout - 1);
    expect(registry.get(idle.connectionToken)).toBe(idle);
    expect(registry.size).toBe(2);

    registry.sweep(created + DEFAULT_HUB_OPTIONS.disconnectTimeout);
    expect(registry.get(idle.connectionToken)).toBeUndefined();
    expect(registry.get(used.connectionToken)).toBe(used);
    expect(registry.size).toBe(1);

    // A connection with a transport is never reaped by age; its transport ends it.
    registry.sweep(created + 10 * DEFAULT_HUB_OPTIONS.disconnectTimeout);
    expect(registry.size).toBe(1);
  });

  it('keeps connections that are mid-handshake', () => {
    const registry = new ConnectionRegistry();
    const connection = registry.create('/hubs/a', options, 0);
    connection.state = 'handshaking';
    registry.sweep(connection.createdAt + DEFAULT_HUB_OPTIONS.disconnectTimeout * 2);
    expect(registry.get(connection.connectionToken)).toBe(connection);
  });

  it('removes only the registered instance', () => {
    const registry = new ConnectionRegistry();
    const connection = registry.create('/hubs/a', options, 1);
    registry.remove(connection);
    expect(registry.size).toBe(0);
    registry.remove(connection);
    expect(registry.size).toBe(0);
  });
});
