import { HttpTransportType, HubConnection, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { randomBytes } from 'crypto';
import { NginxProxy, startNginx } from '../support/nginx.js';
import { stopProxiedCluster } from '../support/proxied-cluster.js';
import { ClusterInstance, RedisServer, startInstance, startRedis } from '../support/redis.js';
import { eventually, waitUntil } from '../support/wait.js';

const HUB = '/hubs/cluster';

interface Member {
  name: string;
  connection: HubConnection;
  id: string;
  hits: string[];
  /** Through the proxy: the `member` query parameter of its requests, unique to this connection. */
  marker?: string;
}

/**
 * Run twice: clients on the instance they name, and through nginx doing round robin per request in
 * front of all three (instances sharing a token secret), where each request of a connection may reach
 * any instance. There a member is placed by connecting until its transport starts on the instance the
 * test names (WhereAmI tells which), so every assertion keeps its layout: a1 on A, b1 and b2 on B, c1 on C.
 */
const ROUTES = [{ via: 'directly' }, { via: 'through a round-robin proxy' }];

describe.each(ROUTES)('Redis backplane: three instances in separate processes, clients connecting $via', ({ via }) => {
  const proxied = via !== 'directly';
  let redis: RedisServer;
  let proxy: NginxProxy | undefined;
  let a: ClusterInstance;
  let b: ClusterInstance;
  let c: ClusterInstance;
  let a1: Member, b1: Member, b2: Member, c1: Member;
  let members: Member[];
  let fences = 0;
  const opened = new Set<HubConnection>();

  async function connect(url: string, transport: HttpTransportType, msgpack: boolean): Promise<Omit<Member, 'name'> & { pid: number }> {
    const builder = new HubConnectionBuilder().withUrl(url, { transport }).configureLogging(LogLevel.None);
    const connection = (msgpack ? builder.withHubProtocol(new MessagePackHubProtocol()) : builder).build();
    opened.add(connection);
    const hits: string[] = [];
    connection.on('hit', (label: string) => hits.push(label));
    connection.on('confirm', (text: string) => `yes:${text}`);
    connection.on('fail', () => {
      throw new Error('boom');
    });
    connection.on('hang', () => new Promise(() => undefined));
    await connection.start();
    const [id, pid] = await Promise.all([connection.invoke<string>('WhoAmI'), connection.invoke<number>('WhereAmI')]);
    return { connection, id, hits, pid };
  }

  /** A member connected on `instance`; through the proxy its URL carries a `member` marker for nginx's log. */
  async function join(instance: ClusterInstance, name: string, user: string, transport: HttpTransportType, msgpack = false): Promise<Member> {
    if (!proxied) return { name, ...(await connect(instance.url(`${HUB}?user=${user}`), transport, msgpack)) };
    const landed: number[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      const marker = `${name}-${attempt}`;
      const member = await connect(proxy!.url(`${HUB}?user=${user}&member=${marker}`), transport, msgpack);
      if (member.pid === instance.pid) return { name, ...member, marker };
      await member.connection.stop();
      opened.delete(member.connection);
      // An attempt that takes a multiple of three requests would land where the last one did forever: one more shifts the rotation.
      if (landed.at(-1) === member.pid) await fetch(proxy!.url('/cluster/presence'));
      landed.push(member.pid);
    }
    throw new Error(`${name} never started on pid ${instance.pid} through the proxy: it landed on ${landed.join(', ')}`);
  }

  beforeAll(async () => {
    redis = await startRedis();
    const env = { ACK_TIMEOUT: '1000', PRESENCE_HEARTBEAT: '200', ...(proxied ? { CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64') } : {}) };
    [a, b, c] = await Promise.all([startInstance(redis.url, env), startInstance(redis.url, env), startInstance(redis.url, env)]);
    if (proxied) proxy = await startNginx([a.port, b.port, c.port]);
    a1 = await join(a, 'a1', 'ada', HttpTransportType.WebSockets);
    b1 = await join(b, 'b1', 'bob', HttpTransportType.LongPolling);
    b2 = await join(b, 'b2', 'ada', HttpTransportType.ServerSentEvents);
    c1 = await join(c, 'c1', 'carl', HttpTransportType.WebSockets, true);
    members = [a1, b1, b2, c1];
  }, 60_000);

  afterAll(() => stopProxiedCluster({ proxy, redis }, opened));

  /**
   * Runs `send` from `sender`, then an `all` fence from the same instance: every instance receives a
   * sender's publishes in order, so once each member has the fence, what it got before is final.
   * Returns the names of the members that received `label`, once per receipt, sorted.
   */
  async function round(sender: Member, send: () => Promise<unknown>, label: string): Promise<string[]> {
    for (const member of members) member.hits.length = 0;
    await send();
    const fence = `fence-${++fences}`;
    await sender.connection.invoke('All', fence);
    await waitUntil(() => members.every((member) => member.hits.includes(fence)), 5000);
    return members.flatMap((member) => member.hits.filter((hit) => hit === label).map(() => member.name)).sort();
  }

  it('all reaches every connection on every instance exactly once', async () => {
    expect(await round(a1, () => a1.connection.invoke('All', 'x'), 'x')).toEqual(['a1', 'b1', 'b2', 'c1']);
    expect(await round(c1, () => c1.connection.invoke('All', 'y'), 'y')).toEqual(['a1', 'b1', 'b2', 'c1']);
  });

  it('allExcept and others', async () => {
    expect(await round(a1, () => a1.connection.invoke('AllExcept', [b1.id, c1.id], 'x'), 'x')).toEqual(['a1', 'b2']);
    expect(await round(b1, () => b1.connection.invoke('Others', 'x'), 'x')).toEqual(['a1', 'b2', 'c1']);
  });

  it('client and clients, local and remote', async () => {
    expect(await round(a1, () => a1.connection.invoke('Client', c1.id, 'x'), 'x')).toEqual(['c1']);
    expect(await round(a1, () => a1.connection.invoke('Client', a1.id, 'x'), 'x')).toEqual(['a1']);
    expect(await round(a1, () => a1.connection.invoke('ClientsOf', [a1.id, b2.id, c1.id], 'x'), 'x')).toEqual(['a1', 'b2', 'c1']);
  });

  it('groups, groupExcept, othersInGroup (a connection in two listed groups gets it twice)', async () => {
    await a1.connection.invoke('Join', 'g1');
    await b1.connection.invoke('Join', 'g1');
    await b2.connection.invoke('Join', 'g1');
    await b2.connection.invoke('Join', 'g2');
    await c1.connection.invoke('Join', 'g2');
    expect(await round(a1, () => a1.connection.invoke('Group', 'g1', 'x'), 'x')).toEqual(['a1', 'b1', 'b2']);
    expect(await round(c1, () => c1.connection.invoke('GroupsOf', ['g1', 'g2'], 'x'), 'x')).toEqual(['a1', 'b1', 'b2', 'b2', 'c1']);
    expect(await round(a1, () => a1.connection.invoke('GroupExcept', 'g1', [b1.id], 'x'), 'x')).toEqual(['a1', 'b2']);
    expect(await round(a1, () => a1.connection.invoke('OthersInGroup', 'g1', 'x'), 'x')).toEqual(['b1', 'b2']);
    await b2.connection.invoke('Leave', 'g1');
    expect(await round(c1, () => c1.connection.invoke('Group', 'g1', 'x'), 'x')).toEqual(['a1', 'b1']);
  });

  it('user and users', async () => {
    expect(await round(c1, () => c1.connection.invoke('User', 'ada', 'x'), 'x')).toEqual(['a1', 'b2']);
    expect(await round(a1, () => a1.connection.invoke('Users', ['bob', 'carl', 'nobody'], 'x'), 'x')).toEqual(['b1', 'c1']);
  });

  it('adds and removes a connection on another instance, acknowledged', async () => {
    expect(await a1.connection.invoke('JoinOther', c1.id, 'g3')).toBe('result: "ok"');
    expect(await a1.connection.invoke('JoinOther', b1.id, 'g3')).toBe('result: "ok"');
    expect(await round(a1, () => a1.connection.invoke('Group', 'g3', 'x'), 'x')).toEqual(['b1', 'c1']);
    expect(await a1.connection.invoke('LeaveOther', c1.id, 'g3')).toBe('result: "ok"');
    expect(await round(a1, () => a1.connection.invoke('Group', 'g3', 'x'), 'x')).toEqual(['b1']);
  });

  it('a group change for a connection no instance owns times out with a clear error', async () => {
    expect(await a1.connection.invoke('JoinOther', 'no-such-connection', 'g3')).toBe(
      "Error: No instance acknowledged adding connection 'no-such-connection' to group 'g3' within 1000 ms: no instance owns that connection, or it is unreachable.",
    );
  });

  it('client results across instances: result, client error, does not exist, disconnected', async () => {
    expect(await a1.connection.invoke('Ask', c1.id, 'confirm', 'delete?')).toBe('result: "yes:delete?"');
    expect(await c1.connection.invoke('Ask', b1.id, 'confirm', 'poll')).toBe('result: "yes:poll"');
    expect(await (await fetch(b.url(`/cluster/ask/${a1.id}?method=confirm`), { method: 'POST' })).text()).toBe('result: "yes:from-http"');
    expect(await a1.connection.invoke('Ask', c1.id, 'fail', '')).toBe('HubException: Error: boom');
    expect(await a1.connection.invoke('Ask', 'no-such-connection', 'confirm', '')).toBe("IOException: Connection 'no-such-connection' does not exist.");

    const leaving = await join(b, 'leaving', 'dan', HttpTransportType.WebSockets);
    // The client receives the question (so the call is pending on instance A), then leaves without answering.
    leaving.connection.off('hang');
    leaving.connection.on('hang', () => {
      setImmediate(() => void leaving.connection.stop());
      return new Promise(() => undefined);
    });
    const asked = a1.connection.invoke('Ask', leaving.id, 'hang', '');
    expect(await asked).toBe(`IOException: Connection '${leaving.id}' disconnected.`);
  });

  if (proxied) {
    it('through the proxy the Long Polling and SSE members’ requests reached more than one instance, each answered 200', async () => {
      const logged = await proxy!.requests();
      for (const member of [b1, b2]) {
        // Their transport requests (the SSE stream is logged once it closes: its POSTs are here).
        const requests = logged.filter((request) => request.uri.includes(`member=${member.marker}&`) && request.uri.includes('&id='));
        expect(requests.length).toBeGreaterThan(3);
        expect(requests.filter((request) => request.status !== 200)).toEqual([]);
        expect(new Set(requests.map((request) => request.upstream)).size).toBeGreaterThan(1);
      }
    });
  }

  it('presence: users with connection counts across instances, and a dead instance leaves no ghosts', async () => {
    const presence = async (instance: ClusterInstance) => (await fetch(instance.url('/cluster/presence'))).json();
    expect(await eventually(() => presence(a), { ada: 2, bob: 1, carl: 1 })).toEqual({ ada: 2, bob: 1, carl: 1 });
    expect(await presence(c)).toEqual({ ada: 2, bob: 1, carl: 1 });
    expect(await (await fetch(b.url('/cluster/presence/ada'))).json()).toEqual({ count: 2 });

    await c.kill();
    // Three missed heartbeats of 200 ms.
    expect(await eventually(() => presence(a), { ada: 2, bob: 1 })).toEqual({ ada: 2, bob: 1 });
    const events = (await (await fetch(a.url('/cluster/presence-events'))).json()) as Array<{ type: string; userId: string }>;
    expect(
      events
        .filter((event) => event.userId === 'carl')
        .map((event) => event.type)
        .slice(-1),
    ).toEqual(['left']);
    // Its connections are gone with it: nobody receives what is published to them.
    expect(await a1.connection.invoke('Ask', c1.id, 'confirm', '')).toBe(`IOException: Connection '${c1.id}' does not exist.`);
    members = [a1, b1, b2];
    expect(await round(a1, () => a1.connection.invoke('Group', 'g2', 'x'), 'x')).toEqual(['b2']);
  }, 20_000);
});
