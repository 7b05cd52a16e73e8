import type { HubConnection } from '@microsoft/signalr';
import { SignalRModule } from '../../src/index.js';
import { SignalRHubRegistry } from '../../src/signalr.registry.js';
import { DefaultHubLifetimeManager } from '../../src/lifetime/default-hub-lifetime-manager.js';
import { TargetsHub } from '../fixtures/targets.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { closed, connect, nextCall, stopAll } from '../support/client.js';
import { waitUntil } from '../support/wait.js';

/**
 * Four connections: alice twice, bob, and an anonymous one. Each test sends through one target and
 * then a barrier to everyone; since a connection's messages arrive in order, whatever a client has
 * not received by the barrier it did not receive at all.
 */
describe('targets and groups', () => {
  let app: TestApp;
  let alice1: HubConnection, alice2: HubConnection, bob: HubConnection, anon: HubConnection;
  let ids: Record<string, string>;
  const hits = new Map<HubConnection, string[]>();
  let barriers = 0;

  const hubUrl = (user?: string) => app.url(`/hubs/targets${user ? `?user=${user}` : ''}`);

  async function track(user?: string): Promise<HubConnection> {
    const connection = await connect(hubUrl(user));
    hits.set(connection, []);
    connection.on('hit', (label: string) => hits.get(connection)!.push(label));
    return connection;
  }

  /** Runs `action`, then a barrier broadcast, and returns what each client received in between. */
  async function received(action: () => Promise<unknown>): Promise<Record<string, string[]>> {
    for (const list of hits.values()) list.length = 0;
    await action();
    const barrier = `barrier-${barriers++}`;
    const clients = [alice1, alice2, bob, anon];
    const arrived = clients.map((client) => waitForLabel(client, barrier));
    await bob.invoke('All', barrier);
    await Promise.all(arrived);
    const seen = (client: HubConnection) => hits.get(client)!.filter((label) => !label.startsWith('barrier-'));
    return { alice1: seen(alice1), alice2: seen(alice2), bob: seen(bob), anon: seen(anon) };
  }

  function waitForLabel(client: HubConnection, label: string): Promise<void> {
    return new Promise((resolve) => {
      const handler = (value: string) => {
        if (value !== label) return;
        client.off('hit', handler);
        resolve();
      };
      client.on('hit', handler);
    });
  }

  beforeAll(async () => {
    app = await startApp({
      imports: [
        SignalRModule.forRoot({
          authenticate: (request) => {
            const user = request.query.get('user');
            return user ? { sub: user } : undefined;
          },
        }),
      ],
      providers: [TargetsHub],
    });
    alice1 = await track('alice');
    alice2 = await track('alice');
    bob = await track('bob');
    anon = await track();
    ids = {
      alice1: await alice1.invoke('WhoAmI'),
      alice2: await alice2.invoke('WhoAmI'),
      bob: await bob.invoke('WhoAmI'),
      anon: await anon.invoke('WhoAmI'),
    };
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it('all reaches every connection once', async () => {
    expect(await received(() => anon.invoke('All', 'x'))).toEqual({ alice1: ['x'], alice2: ['x'], bob: ['x'], anon: ['x'] });
  });

  it('allExcept skips the listed connections', async () => {
    expect(await received(() => anon.invoke('AllExcept', [ids.alice1, ids.bob], 'x'))).toEqual({
      alice1: [],
      alice2: ['x'],
      bob: [],
      anon: ['x'],
    });
  });

  it('caller and others split the hub around the caller', async () => {
    expect(await received(() => bob.invoke('Caller', 'me'))).toEqual({ alice1: [], alice2: [], bob: ['me'], anon: [] });
    expect(await received(() => bob.invoke('Others', 'you'))).toEqual({ alice1: ['you'], alice2: ['you'], bob: [], anon: ['you'] });
  });

  it('client and clients reach exactly the named connections', async () => {
    expect(await received(() => anon.invoke('Client', ids.alice2, 'x'))).toEqual({ alice1: [], alice2: ['x'], bob: [], anon: [] });
    expect(await received(() => anon.invoke('ClientsOf', [ids.alice1, ids.bob, 'no-such-id'], 'x'))).toEqual({
      alice1: ['x'],
      alice2: [],
      bob: ['x'],
      anon: [],
    });
  });

  it('user and users reach every connection of each user and no anonymous one', async () => {
    expect(await received(() => bob.invoke('User', 'alice', 'x'))).toEqual({ alice1: ['x'], alice2: ['x'], bob: [], anon: [] });
    expect(await received(() => anon.invoke('Users', ['alice', 'bob', 'nobody'], 'x'))).toEqual({
      alice1: ['x'],
      alice2: ['x'],
      bob: ['x'],
      anon: [],
    });
  });

  it('group, groupExcept and othersInGroup reach members only', async () => {
    await alice1.invoke('Join', 'room');
    await bob.invoke('Join', 'room');
    await bob.invoke('Join', 'room'); // adding twice is harmless
    expect(await received(() => anon.invoke('Group', 'room', 'g'))).toEqual({ alice1: ['g'], alice2: [], bob: ['g'], anon: [] });
    expect(await received(() => anon.invoke('GroupExcept', 'room', [ids.bob], 'g'))).toEqual({
      alice1: ['g'],
      alice2: [],
      bob: [],
      anon: [],
    });
    expect(await received(() => bob.invoke('OthersInGroup', 'room', 'g'))).toEqual({ alice1: ['g'], alice2: [], bob: [], anon: [] });
    await bob.invoke('Leave', 'room');
    expect(await received(() => anon.invoke('Group', 'room', 'g'))).toEqual({ alice1: ['g'], alice2: [], bob: [], anon: [] });
    await alice1.invoke('Leave', 'room');
    expect(await received(() => anon.invoke('Group', 'room', 'g'))).toEqual({ alice1: [], alice2: [], bob: [], anon: [] });
  });

  it('groups sends once per listed group a connection is in, as ASP.NET Core does', async () => {
    await alice2.invoke('Join', 'g1');
    await alice2.invoke('Join', 'g2');
    await bob.invoke('Join', 'g2');
    expect(await received(() => anon.invoke('GroupsOf', ['g1', 'g2', 'g3'], 'x'))).toEqual({
      alice1: [],
      alice2: ['x', 'x'],
      bob: ['x'],
      anon: [],
    });
  });

  it('group names are case-sensitive and an empty name is refused', async () => {
    await anon.invoke('Join', 'Case');
    expect(await received(() => bob.invoke('Group', 'case', 'x'))).toEqual({ alice1: [], alice2: [], bob: [], anon: [] });
    await expect(bob.invoke('Group', '', 'x')).rejects.toThrow("An unexpected error occurred invoking 'Group' on the server.");
  });

  it('adds another connection to a group, and ignores an unknown connection id', async () => {
    await anon.invoke('JoinOther', ids.alice1, 'added');
    await anon.invoke('JoinOther', 'unknown-connection', 'added');
    expect(await received(() => bob.invoke('Group', 'added', 'x'))).toEqual({ alice1: ['x'], alice2: [], bob: [], anon: [] });
  });

  it('sends every argument of a client call in order', async () => {
    const call = nextCall(bob, 'many');
    await bob.invoke('SendManyArgs');
    expect(await call).toEqual([1, 'two', { three: 3 }, [4], null, true]);
  });

  it('drops memberships when the connection ends; a new connection starts in no group', async () => {
    const lifetime = app.app.get(SignalRHubRegistry).lifetimeFor(TargetsHub) as DefaultHubLifetimeManager;
    const groupsBefore = lifetime.groupCount;
    const leaving = await connect(hubUrl('carol'));
    await leaving.invoke('Join', 'temporary');
    expect(lifetime.groupCount).toBe(groupsBefore + 1);
    const gone = closed(leaving);
    await leaving.stop();
    await gone;
    // The server notices the close a moment later; the next invocation from any client is ordered after it.
    await waitUntil(() => lifetime.groupCount === groupsBefore);
    const fresh = await connect(hubUrl('carol'));
    hits.set(fresh, []);
    fresh.on('hit', (label: string) => hits.get(fresh)!.push(label));
    const barrier = waitForLabel(fresh, 'after');
    await anon.invoke('Group', 'temporary', 'x');
    await anon.invoke('All', 'after');
    await barrier;
    expect(hits.get(fresh)).toEqual(['after']);
    await fresh.stop();
  });
});
