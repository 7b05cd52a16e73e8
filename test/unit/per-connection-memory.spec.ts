import { HubConnection } from '../../src/connection/hub-connection.js';
import type { ResolvedHubOptions } from '../../src/interfaces/signalr-options.interface.js';
import { DEFAULT_HUB_OPTIONS } from '../../src/signalr.constants.js';
import { keptHeaders } from '../../src/transports/shared-header-values.js';

const options: ResolvedHubOptions = { ...DEFAULT_HUB_OPTIONS };

describe('HubConnection times (kept as small offsets)', () => {
  it('gives back the epoch times it was given, and 0 for an attached connection', () => {
    const before = Date.now();
    const connection = new HubConnection('id', 'token', '/hubs/a', options);
    expect(connection.createdAt).toBeGreaterThanOrEqual(before);
    expect(connection.createdAt).toBeLessThanOrEqual(Date.now());
    const at = Date.now() + 12_345;
    connection.createdAt = at;
    connection.lastReceivedAt = at + 1;
    connection.lastSentAt = at + 2;
    expect([connection.createdAt, connection.lastReceivedAt, connection.lastSentAt]).toEqual([at, at + 1, at + 2]);
    expect(connection.detachedAt).toBe(0);
    connection.detachedAt = at + 3;
    expect(connection.detachedAt).toBe(at + 3);
    connection.detachedAt = 0;
    expect(connection.detachedAt).toBe(0);
    // Far beyond the small-integer range (over 24 days ahead) the value is still exact.
    const later = Date.now() + 40 * 24 * 3600 * 1000;
    connection.lastSentAt = later;
    expect(connection.lastSentAt).toBe(later);
  });
});

describe('keptHeaders', () => {
  it('copies every header with its value, repeating or not, arrays included', () => {
    const headers = {
      host: 'example.com:8080',
      'user-agent': 'agent/1.0',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      authorization: 'Bearer abc',
      'set-cookie': ['a=1', 'b=2'],
      'x-custom': 'value',
    };
    const kept = keptHeaders(headers);
    expect(kept).toEqual(headers);
    expect(Object.keys(kept)).toEqual(Object.keys(headers));
    expect(kept).not.toBe(headers);
  });

  it('stays exact past its bound of shared values (a flood of distinct values)', () => {
    for (let i = 0; i < 3000; i++) {
      const host = `host-${i}.example`;
      expect(keptHeaders({ host, 'user-agent': `agent/${i % 7}` })).toEqual({ host, 'user-agent': `agent/${i % 7}` });
    }
  });
});
