import { HttpTransportType, HubConnection, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { randomBytes } from 'crypto';
import http from 'http';
import { negotiate, request } from '../support/http.js';
import { parseRecords, RS } from '../support/raw-socket.js';
import { ClusterInstance, killInstances, RedisServer, startInstance, startRedis } from '../support/redis.js';
import { eventually } from '../support/wait.js';

/**
 * The bounds on carried requests (issue 18), each proven by filling it: the backplane's
 * `maximumCarriedRequests`, `maximumServedRequests` and `maximumHeldCarriedBytes`, set small here
 * (8, 8, 256 KiB) so that a few requests reach them. Requests go straight to the instance they are
 * meant for (no proxy): B carries to A and C, which hold the connections.
 */
const HUB = '/hubs/cluster';
const RAW = '/raw/cluster-echo';
const CAP = 8;
const HELD_CAP = 256 * 1024;
/** The body chunk an owner holds for each carried send waiting in its connection's POST queue. */
const CHUNK = 64 * 1024;
const IDLE = { carrying: 0, serving: 0 };
const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;
/** A Ping record, 16 bytes: bodies made of them are valid records wherever a chunk ends. */
const PING = `{"type":6}     ${RS}`;
/** Just over one chunk of Pings: the asking instance sends the first 64 KiB before the rest of the body comes. */
const FIRST_CHUNK = PING.repeat(CHUNK / PING.length + 1);

const invocation = (id: string) => `${JSON.stringify({ type: 1, invocationId: id, target: 'WhoAmI', arguments: [] })}${RS}`;
const hit = (label: string) => `${JSON.stringify({ type: 1, target: 'hit', arguments: [label] })}${RS}`;

/** A long-polling connection started on its owner (handshake done); `via(instance)` is its URL on any instance. */
interface Owned {
  connectionId: string;
  via(instance: ClusterInstance): string;
}

async function owned(owner: ClusterInstance, user: string, path = HUB): Promise<Owned> {
  const { connectionId, connectionToken } = await negotiate(owner.url(`${path}?user=${user}`));
  const via = (instance: ClusterInstance) => instance.url(`${path}?user=${user}&id=${encodeURIComponent(connectionToken)}`);
  expect((await request(via(owner))).status).toBe(200);
  if (path === HUB) {
    expect((await request(via(owner), { method: 'POST', body: HANDSHAKE })).status).toBe(200);
    expect((await request(via(owner))).body.toString()).toBe(`{}${RS}`);
  }
  return { connectionId, via };
}

/** Stalled POSTs not yet finished: a test that fails midway leaves none behind for the next. */
const unfinished = new Set<http.ClientRequest>();

/** A POST whose body stops after `first` (the rest is announced by Content-Length) until `finish` or `abort`. */
function stalledPost(url: string, first: string, rest: string) {
  const req = http.request(url, { method: 'POST', headers: { 'Content-Length': String(Buffer.byteLength(first + rest)) }, agent: false });
  const answered = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
  });
  answered.catch(() => undefined);
  unfinished.add(req);
  req.write(first);
  return {
    answered,
    finish: () => {
      unfinished.delete(req);
      req.end(rest);
    },
    abort: () => {
      unfinished.delete(req);
      req.destroy();
    },
  };
}

/** `[status, body]` of a response, to compare at once. */
const outcome = (response: { status: number; body: Buffer }) => [response.status, response.body.toString()];

describe('No affinity, the bounds on carried requests: filled, refused beyond, released', () => {
  let redis: RedisServer;
  let instances: ClusterInstance[];
  /** Official clients, one on each instance, that have nothing to do with the requests being carried. */
  const bystanders: HubConnection[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const env = {
      CONNECTION_TOKEN_SECRET: randomBytes(32).toString('base64'),
      ACK_TIMEOUT: '10000',
      MAX_CARRIED: String(CAP),
      MAX_SERVED: String(CAP),
      MAX_HELD_CARRIED_BYTES: String(HELD_CAP),
    };
    instances = await Promise.all([startInstance(redis.url, env), startInstance(redis.url, env), startInstance(redis.url, env)]);
    for (const [index, instance] of instances.entries()) {
      const connection = new HubConnectionBuilder()
        .withUrl(instance.url(`${HUB}?user=bystander-${index}`), { transport: HttpTransportType.LongPolling })
        .configureLogging(LogLevel.None)
        .build();
      connection.on('hit', () => undefined);
      bystanders.push(connection);
      await connection.start();
    }
  }, 60_000);

  // After a failure: what the test left held (stalled sends, polls) is let go of, so the next test starts from nothing.
  afterEach(async () => {
    for (const req of unfinished) req.destroy();
    unfinished.clear();
    await request(instances[2].url('/cluster/send-all?label=cleanup'), { method: 'POST' });
    await eventually(pending, [IDLE, IDLE, IDLE]);
  });

  afterAll(async () => {
    await Promise.all(bystanders.map((connection) => connection.stop().catch(() => undefined)));
    await killInstances();
    await redis?.close();
  });

  async function pending(): Promise<unknown[]> {
    return Promise.all(instances.map(async (instance) => JSON.parse((await request(instance.url('/cluster/relay'))).body.toString())));
  }

  /** Every instance serves its own clients as before: each bystander's invocation is answered. */
  async function bystandersServed(): Promise<void> {
    const answers = await Promise.all(bystanders.map((connection) => connection.invoke<string>('WhoAmI')));
    expect(answers).toEqual(bystanders.map((connection) => connection.connectionId));
  }

  /** Ends the held polls with a broadcast: each is answered 200 with exactly that message; then nothing is held anywhere. */
  async function answeredByBroadcast(polls: Array<Promise<{ status: number; body: Buffer }>>, label: string): Promise<void> {
    expect((await request(instances[2].url(`/cluster/send-all?label=${label}`), { method: 'POST' })).status).toBe(201);
    expect((await Promise.all(polls)).map(outcome)).toEqual(polls.map(() => [200, hit(label)]));
    expect(await eventually(pending, [IDLE, IDLE, IDLE])).toEqual([IDLE, IDLE, IDLE]);
  }

  it('maximumCarriedRequests: B carrying 8 polls (to A and C) refuses a 9th request with 503; the 8 are answered, twice over', async () => {
    const [a, b, c] = instances;
    const connections = await Promise.all(Array.from({ length: CAP }, (_, i) => owned(i % 2 === 0 ? a : c, `carry-${i}`)));
    const other = await owned(a, 'carry-other');
    const raw = await owned(a, 'carry-raw', RAW);
    // Twice: the second filling reaches exactly 8 again only if the first left nothing counted.
    for (const round of [1, 2]) {
      const polls = connections.map((connection) => request(connection.via(b)));
      const full = [
        { carrying: 0, serving: CAP / 2 },
        { carrying: CAP, serving: 0 },
        { carrying: 0, serving: CAP / 2 },
      ];
      expect(await eventually(pending, full)).toEqual(full);
      // Neither owner is full (4 of 8 each): the refusals are B's, for any endpoint of the instance.
      expect(outcome(await request(other.via(b), { method: 'POST', body: PING }))).toEqual([503, '']);
      expect(outcome(await request(raw.via(b), { method: 'POST', body: 'shout' }))).toEqual([503, '']);
      expect(outcome(await request(other.via(b)))).toEqual([503, '']);
      await bystandersServed();
      // The same requests sent to the owner are served: only carrying is bounded.
      expect((await request(other.via(a), { method: 'POST', body: PING })).status).toBe(200);
      expect(await pending()).toEqual(full);
      await answeredByBroadcast(polls, `carried-${round}`);
      expect((await request(other.via(b), { method: 'POST', body: PING })).status).toBe(200);
    }
    expect(outcome(await request(raw.via(b), { method: 'POST', body: 'shout' }))).toEqual([200, '']);
    expect(outcome(await request(raw.via(b)))).toEqual([200, 'SHOUT']);
  });

  it('maximumServedRequests: A serving 8 polls (carried by B and C) answers a 9th with 503, carried back; other owners are still reached', async () => {
    const [a, b, c] = instances;
    const connections = await Promise.all(Array.from({ length: CAP }, (_, i) => owned(a, `serve-${i}`)));
    const other = await owned(a, 'serve-other');
    const elsewhere = await owned(c, 'serve-elsewhere');
    for (const round of [1, 2]) {
      const polls = connections.map((connection, i) => request(connection.via(i % 2 === 0 ? b : c)));
      const full = [
        { carrying: 0, serving: CAP },
        { carrying: CAP / 2, serving: 0 },
        { carrying: CAP / 2, serving: 0 },
      ];
      expect(await eventually(pending, full)).toEqual(full);
      // Neither asker is full (4 of 8 each): the refusals are A's.
      expect(outcome(await request(other.via(b), { method: 'POST', body: PING }))).toEqual([503, '']);
      expect(outcome(await request(other.via(c), { method: 'DELETE' }))).toEqual([503, '']);
      // B still carries to C, and A is still served its own requests.
      expect((await request(elsewhere.via(b), { method: 'POST', body: PING })).status).toBe(200);
      expect((await request(other.via(a), { method: 'POST', body: PING })).status).toBe(200);
      await bystandersServed();
      expect(await pending()).toEqual(full);
      await answeredByBroadcast(polls, `served-${round}`);
      expect((await request(other.via(b), { method: 'POST', body: PING })).status).toBe(200);
    }
  });

  it('maximumHeldCarriedBytes: 4 carried sends stalled behind a slow one hold 256 KiB on A; a further body gets 503 until they complete or abort', async () => {
    const [a, b] = instances;
    const stuck = await owned(a, 'held');
    const other = await owned(a, 'held-other');
    const raw = await owned(a, 'held-raw', RAW);
    for (const round of [1, 2]) {
      // A slow send at the head of the connection's POST queue, on A itself (it holds no carried bytes):
      // its first invocation is answered once A has read it, so the queue is then held by it.
      const head = stalledPost(stuck.via(a), invocation(`head-${round}`), invocation(`head-end-${round}`));
      expect(parseRecords((await request(stuck.via(a))).body.toString())).toEqual([{ type: 3, invocationId: `head-${round}`, result: stuck.connectionId }]);
      // Four carried sends queue behind it, each held on A with its first 64 KiB.
      const stalled = [];
      for (let i = 0; i < HELD_CAP / CHUNK; i++) {
        stalled.push(stalledPost(stuck.via(b), FIRST_CHUNK, invocation(`stalled-${round}-${i}`)));
        const served = [{ carrying: 0, serving: i + 1 }, { carrying: i + 1, serving: 0 }, IDLE];
        expect(await eventually(pending, served)).toEqual(served);
      }
      // Full: a carried send with a body, to any connection or endpoint on A, is refused; A's own are not.
      expect(outcome(await request(other.via(b), { method: 'POST', body: PING }))).toEqual([503, '']);
      expect(outcome(await request(raw.via(b), { method: 'POST', body: 'shout' }))).toEqual([503, '']);
      expect((await request(other.via(a), { method: 'POST', body: PING })).status).toBe(200);
      await bystandersServed();
      // Two of them abort: their 128 KiB are let go of, and a 64 KiB carried send fits again.
      stalled[1].abort();
      stalled[3].abort();
      expect(await eventually(pending, [{ carrying: 0, serving: 2 }, { carrying: 2, serving: 0 }, IDLE])).toEqual([
        { carrying: 0, serving: 2 },
        { carrying: 2, serving: 0 },
        IDLE,
      ]);
      expect((await request(other.via(b), { method: 'POST', body: FIRST_CHUNK })).status).toBe(200);
      // The others complete in order once the head does: each body arrives whole.
      head.finish();
      stalled[0].finish();
      stalled[2].finish();
      expect(await Promise.all([head.answered, stalled[0].answered, stalled[2].answered])).toEqual([200, 200, 200]);
      const results: unknown[] = [];
      while (results.length < 3) results.push(...parseRecords((await request(stuck.via(a))).body.toString()));
      expect(results).toEqual(
        [`head-end-${round}`, `stalled-${round}-0`, `stalled-${round}-2`].map((id) => ({ type: 3, invocationId: id, result: stuck.connectionId })),
      );
      expect(await eventually(pending, [IDLE, IDLE, IDLE])).toEqual([IDLE, IDLE, IDLE]);
      expect((await request(other.via(b), { method: 'POST', body: PING })).status).toBe(200);
    }
    expect(outcome(await request(raw.via(b), { method: 'POST', body: 'shout' }))).toEqual([200, '']);
    expect(outcome(await request(raw.via(b)))).toEqual([200, 'SHOUT']);
  });
});
