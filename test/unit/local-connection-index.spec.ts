import { HubConnection } from '../../src/connection/hub-connection.js';
import { DefaultHubLifetimeManager } from '../../src/lifetime/default-hub-lifetime-manager.js';
import type { HubTarget } from '../../src/lifetime/hub-target.js';
import { LocalConnectionIndex } from '../../src/lifetime/local-connection-index.js';
import { invocation } from '../../src/lifetime/serialized-hub-message.js';
import type { PresenceEvent } from '../../src/lifetime/hub-presence.js';
import type { HubProtocol } from '../../src/protocol/hub-protocol.js';
import { writeHandshakeResponse } from '../../src/protocol/handshake-protocol.js';
import { MessageType } from '../../src/protocol/hub-messages.js';
import { JsonHubProtocol } from '../../src/protocol/json-hub-protocol.js';
import { MessagePackHubProtocol } from '../../src/protocol/messagepack-hub-protocol.js';
import { RedisChannels } from '../../src/redis/redis-channels.js';
import { publishedChannels } from '../../src/redis/redis-target-channels.js';
import { DEFAULT_HUB_OPTIONS } from '../../src/signalr.constants.js';
import { InMemoryPeer } from '../../src/testing/in-memory-transport.js';

const json = new JsonHubProtocol();
const messagepack = new MessagePackHubProtocol();

interface Connected {
  connection: HubConnection;
  peer: InMemoryPeer;
}

/** A real, connected hub connection whose client end is an in-memory peer (past the handshake). */
function connect(connectionId: string, userIdentifier: string | null = null, protocol: HubProtocol = json): Connected {
  const peer = new InMemoryPeer(protocol);
  const connection = new HubConnection(connectionId, `token-${connectionId}`, '/hub', { ...DEFAULT_HUB_OPTIONS });
  Object.assign(connection, { transport: peer.transport, protocol, userIdentifier, state: 'connected' });
  peer.transport.send(writeHandshakeResponse());
  peer.chunks.length = 0;
  return { connection, peer };
}

/** The first argument of every invocation each connection received since the last call, by connection id. */
function received(all: Connected[]): Record<string, unknown[]> {
  const result: Record<string, unknown[]> = {};
  for (const { connection, peer } of all) {
    connection.flush();
    result[connection.connectionId] = peer.received.splice(0).map((message) => (message.type === MessageType.Invocation ? message.arguments[0] : message));
  }
  return result;
}

describe('LocalConnectionIndex: target resolution', () => {
  let index: LocalConnectionIndex;
  let a: Connected, b: Connected, c: Connected;
  let all: Connected[];

  beforeEach(() => {
    index = new LocalConnectionIndex();
    [a, b, c] = all = [connect('a', 'u1'), connect('b', 'u1'), connect('c', 'u2'), connect('d')];
    for (const { connection } of all) index.add(connection);
    index.addToGroup(a.connection, 'g1');
    index.addToGroup(a.connection, 'g2');
    index.addToGroup(b.connection, 'g1');
    index.addToGroup(c.connection, 'g2');
  });

  const cases: [string, HubTarget, Record<string, unknown[]>][] = [
    ['all', { kind: 'all' }, { a: [1], b: [1], c: [1], d: [1] }],
    ['all except', { kind: 'all', except: ['b', 'd', 'nobody'] }, { a: [1], b: [], c: [1], d: [] }],
    ['all with an empty except', { kind: 'all', except: [] }, { a: [1], b: [1], c: [1], d: [1] }],
    ['a connection', { kind: 'connection', id: 'c' }, { a: [], b: [], c: [1], d: [] }],
    ['an unknown connection', { kind: 'connection', id: 'zz' }, { a: [], b: [], c: [], d: [] }],
    ['connections, unknown ones skipped, repeats kept', { kind: 'connections', ids: ['d', 'zz', 'a', 'd'] }, { a: [1], b: [], c: [], d: [1, 1] }],
    ['a group', { kind: 'group', name: 'g1' }, { a: [1], b: [1], c: [], d: [] }],
    ['a group except', { kind: 'group', name: 'g1', except: ['a'] }, { a: [], b: [1], c: [], d: [] }],
    ['an unknown group', { kind: 'group', name: 'nope' }, { a: [], b: [], c: [], d: [] }],
    ['groups (a member of two gets it twice)', { kind: 'groups', names: ['g1', 'g2', 'nope'] }, { a: [1, 1], b: [1], c: [1], d: [] }],
    ['a user (every connection of it)', { kind: 'user', id: 'u1' }, { a: [1], b: [1], c: [], d: [] }],
    ['users', { kind: 'users', ids: ['u2', 'u1', 'nobody'] }, { a: [1], b: [1], c: [1], d: [] }],
  ];

  it.each(cases)('%s', (_name, target, expected) => {
    index.write(target, invocation('m', [1]));
    expect(received(all)).toEqual(expected);
  });

  it('writes bytes serialized once per protocol, the same buffer for every recipient of a protocol', () => {
    const e = connect('e', null, messagepack);
    const f = connect('f', null, messagepack);
    index.add(e.connection);
    index.add(f.connection);
    index.write({ kind: 'all' }, invocation('m', [1]));
    for (const { connection } of [...all, e, f]) connection.flush();
    const sent = [...all, e, f].map(({ peer }) => peer.chunks);
    expect(sent.map((buffers) => buffers.length)).toEqual([1, 1, 1, 1, 1, 1]);
    for (const buffers of sent.slice(1, 4)) expect(buffers[0]).toBe(sent[0][0]);
    expect(sent[5][0]).toBe(sent[4][0]);
    expect(sent[4][0]).not.toBe(sent[0][0]);
  });

  it('skips closed connections without dropping the others', () => {
    b.connection.markClosed();
    index.write({ kind: 'group', name: 'g1' }, invocation('m', [2]));
    expect(received(all)).toEqual({ a: [2], b: [], c: [], d: [] });
  });
});

describe('LocalConnectionIndex: bookkeeping', () => {
  it('tells the first and last connection of a user and of a group, and counts what it holds', () => {
    const index = new LocalConnectionIndex();
    const [a, b, c] = [connect('a', 'u1'), connect('b', 'u1'), connect('c')].map(({ connection }) => connection);
    expect([index.add(a), index.add(b), index.add(c)]).toEqual([true, false, false]);
    expect([index.connectionCount, index.userCount, index.groupCount]).toEqual([3, 1, 0]);
    expect(index.get('b')).toBe(b);
    expect(index.get('zz')).toBeUndefined();

    expect([index.addToGroup(a, 'g'), index.addToGroup(a, 'g'), index.addToGroup(b, 'g'), index.addToGroup(a, 'h')]).toEqual([true, false, false, true]);
    expect([...a.groups!]).toEqual(['g', 'h']);
    expect(index.groupCount).toBe(2);
    expect([index.removeFromGroup(c, 'g'), index.removeFromGroup(a, 'g'), index.removeFromGroup(a, 'g'), index.removeFromGroup(b, 'g')]).toEqual([
      false,
      false,
      false,
      true,
    ]);
    expect([...a.groups!]).toEqual(['h']);
    expect(index.groupCount).toBe(1);

    expect(index.onlineUsers()).toEqual(new Map([['u1', 2]]));
    expect([index.userConnectionCount('u1'), index.userConnectionCount('u2')]).toEqual([2, 0]);
  });

  it('drops a removed connection from each of its groups and reports the groups it emptied, in order', () => {
    const index = new LocalConnectionIndex();
    const [a, b] = [connect('a', 'u1'), connect('b', 'u1')].map(({ connection }) => connection);
    index.add(a);
    index.add(b);
    for (const name of ['g1', 'g2', 'g3']) index.addToGroup(a, name);
    index.addToGroup(b, 'g2');
    const emptied: string[] = [];
    expect(index.remove(a, (name) => emptied.push(name))).toBe(false);
    expect(emptied).toEqual(['g1', 'g3']);
    expect(a.groups).toBeNull();
    expect([index.connectionCount, index.groupCount, index.userCount]).toEqual([1, 1, 1]);
    expect(index.remove(b)).toBe(true);
    expect([index.connectionCount, index.groupCount, index.userCount]).toEqual([0, 0, 0]);
    expect(index.onlineUsers()).toEqual(new Map());
  });

  it('adds no closed connection to a group', () => {
    const index = new LocalConnectionIndex();
    const { connection } = connect('a');
    index.add(connection);
    connection.markClosed();
    expect(index.addToGroup(connection, 'g')).toBe(false);
    expect([connection.groups, index.groupCount]).toEqual([null, 0]);
  });

  it('leaves no empty group or user entry behind after churn', () => {
    const index = new LocalConnectionIndex();
    const connections = Array.from({ length: 50 }, (_, i) => connect(`c${i}`, `u${i % 7}`).connection);
    for (const connection of connections) index.add(connection);
    connections.forEach((connection, i) => {
      index.addToGroup(connection, `g${i % 5}`);
      index.addToGroup(connection, 'everyone');
    });
    connections.forEach((connection, i) => i % 2 === 0 && index.removeFromGroup(connection, 'everyone'));
    expect([index.groupCount, index.userCount]).toEqual([6, 7]);
    for (const connection of connections) index.remove(connection);
    expect([index.connectionCount, index.groupCount, index.userCount]).toEqual([0, 0, 0]);
  });
});

describe('DefaultHubLifetimeManager over the index', () => {
  it('refuses empty group names before writing, and ignores unknown connections in group changes', async () => {
    const manager = new DefaultHubLifetimeManager();
    const a = connect('a');
    manager.onConnected(a.connection);
    await expect(manager.send({ kind: 'group', name: '' }, 'm', [1])).rejects.toThrow(new TypeError('Cannot send to an empty group name.'));
    await expect(manager.send({ kind: 'groups', names: ['g', ''] }, 'm', [1])).rejects.toThrow(new TypeError('Cannot send to an empty group name.'));
    await expect(manager.addToGroup('a', '')).rejects.toThrow(new TypeError('The group name must be a non-empty string.'));
    await expect(manager.removeFromGroup('a', '')).rejects.toThrow(new TypeError('The group name must be a non-empty string.'));
    await manager.addToGroup('unknown', 'g');
    await manager.addToGroup('a', 'g');
    await manager.send({ kind: 'group', name: 'g' }, 'm', [3]);
    expect(received([a])).toEqual({ a: [3] });
    expect(manager.groupCount).toBe(1);
    manager.onDisconnected(a.connection);
    expect([manager.connectionCount, manager.groupCount]).toEqual([0, 0]);
  });

  it('emits joined and left once per user, from its first and last connection', async () => {
    const manager = new DefaultHubLifetimeManager();
    const events: PresenceEvent[] = [];
    manager.presence.subscribe((event) => events.push(event));
    const [a, b] = [connect('a', 'ada'), connect('b', 'ada')].map(({ connection }) => connection);
    manager.onConnected(a);
    manager.onConnected(b);
    expect(await manager.presence.onlineUsers()).toEqual(new Map([['ada', 2]]));
    manager.onDisconnected(a);
    manager.onDisconnected(b);
    expect(events).toEqual([
      { type: 'joined', userId: 'ada' },
      { type: 'left', userId: 'ada' },
    ]);
    expect(await manager.presence.connectionCount('ada')).toBe(0);
  });
});

describe('publishedChannels (Redis): where a target publishes', () => {
  const channels = new RedisChannels('p:Hub');
  const local = new Map([['here', {}]]);

  it.each<[string, HubTarget, ReturnType<typeof publishedChannels>]>([
    ['all', { kind: 'all', except: ['x'] }, { channels: ['p:Hub:all'], except: ['x'], mayEcho: true }],
    ['a group', { kind: 'group', name: 'g' }, { channels: ['p:Hub:group:g'], except: undefined, mayEcho: true }],
    ['groups', { kind: 'groups', names: ['g', 'h'] }, { channels: ['p:Hub:group:g', 'p:Hub:group:h'], except: undefined, mayEcho: true }],
    ['no groups', { kind: 'groups', names: [] }, null],
    ['a user', { kind: 'user', id: 'u' }, { channels: ['p:Hub:user:u'], except: undefined, mayEcho: true }],
    ['users', { kind: 'users', ids: ['u', 'v'] }, { channels: ['p:Hub:user:u', 'p:Hub:user:v'], except: undefined, mayEcho: true }],
    ['a local connection', { kind: 'connection', id: 'here' }, null],
    ['a remote connection', { kind: 'connection', id: 'there' }, { channels: ['p:Hub:connection:there'], except: undefined, mayEcho: false }],
    [
      'connections: only the remote ones',
      { kind: 'connections', ids: ['here', 'x', 'y'] },
      { channels: ['p:Hub:connection:x', 'p:Hub:connection:y'], except: undefined, mayEcho: false },
    ],
    ['connections, all local', { kind: 'connections', ids: ['here'] }, null],
  ])('%s', (_name, target, expected) => {
    expect(publishedChannels(channels, target, local)).toEqual(expected);
  });
});
