import { HttpTransportType } from '@microsoft/signalr';
import http from 'http';
import { SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { BusyPollsHub, ShortPollsHub } from '../fixtures/long-poll.hubs.js';
import { HttpOnlyHub, TransportsHub } from '../fixtures/transports.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, nextCall, stopAll } from '../support/client.js';
import { negotiate, RawResponse, request } from '../support/http.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;
const invocation = (id: string, a: number, b: number) => `{"type":1,"invocationId":"${id}","target":"Add","arguments":[${a},${b}]}${RS}`;

describe('Long Polling', () => {
  let app: TestApp;
  const at = (path: string, token: string) => `${app.url(path)}?id=${encodeURIComponent(token)}`;

  /** Negotiates, makes the first poll and the handshake; returns the poll URL. */
  async function start(path = '/hubs/transports'): Promise<{ url: string; connectionId: string }> {
    const { connectionToken, connectionId } = await negotiate(app.url(path));
    const url = at(path, connectionToken);
    await request(url);
    await request(url, { method: 'POST', body: HANDSHAKE });
    const handshake = await request(url);
    expect(handshake.body.toString()).toBe(`{}${RS}`);
    return { url, connectionId };
  }

  const summary = (response: RawResponse) => ({
    status: response.status,
    type: response.headers['content-type'],
    length: response.headers['content-length'],
    body: response.body.toString(),
  });

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [TransportsHub, HttpOnlyHub, ShortPollsHub, BusyPollsHub] });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it('answers the first poll at once, empty, with the no-cache headers', async () => {
    const { connectionToken } = await negotiate(app.url('/hubs/transports'));
    const first = await request(at('/hubs/transports', connectionToken));
    expect(summary(first)).toEqual({ status: 200, type: 'application/octet-stream', length: '0', body: '' });
    expect(first.headers).toMatchObject({
      'cache-control': 'no-cache, no-store',
      pragma: 'no-cache',
      expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
    });
  });

  it('holds a poll until there is data, then returns every queued record', async () => {
    const { url } = await start();
    const poll = request(url);
    const sent = await request(url, { method: 'POST', body: invocation('1', 1, 2) + invocation('2', 3, 4) });
    expect(summary(sent)).toEqual({ status: 200, type: 'text/plain', length: '0', body: '' });
    expect(summary(await poll)).toEqual({
      status: 200,
      type: 'application/octet-stream',
      length: String(Buffer.byteLength(`{"type":3,"invocationId":"1","result":3}${RS}{"type":3,"invocationId":"2","result":7}${RS}`)),
      body: `{"type":3,"invocationId":"1","result":3}${RS}{"type":3,"invocationId":"2","result":7}${RS}`,
    });
  });

  it('keeps data queued between polls', async () => {
    const { url } = await start();
    await request(url, { method: 'POST', body: invocation('1', 20, 22) });
    expect((await request(url)).body.toString()).toBe(`{"type":3,"invocationId":"1","result":42}${RS}`);
  });

  it('ends an older poll with 204 when a newer one arrives', async () => {
    const { url } = await start();
    const older = request(url);
    await waitUntil(() => app.app.get(SignalRServer).stats().running > 0);
    const newer = request(url);
    expect(summary(await older)).toMatchObject({ status: 204, body: '' });
    await request(url, { method: 'POST', body: invocation('n', 1, 1) });
    expect((await newer).body.toString()).toBe(`{"type":3,"invocationId":"n","result":2}${RS}`);
  });

  it('returns an empty 200 when the poll timeout passes, and sends no pings', async () => {
    const { url } = await start('/hubs/short-polls');
    const started = Date.now();
    const timedOut = await request(url);
    expect(summary(timedOut)).toEqual({ status: 200, type: 'text/plain', length: '0', body: '' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('terminates on DELETE: 202, the outstanding poll ends with 204, the id is gone', async () => {
    const { url, connectionId } = await start();
    const poll = request(url);
    const deleted = await request(url, { method: 'DELETE' });
    expect(summary(deleted)).toEqual({ status: 202, type: 'text/plain', length: '0', body: '' });
    expect(summary(await poll)).toMatchObject({ status: 204, body: '' });
    const hub = app.app.get(TransportsHub);
    await waitUntil(() => hub.disconnects.some((entry) => entry.id === connectionId));
    expect(hub.disconnects.find((entry) => entry.id === connectionId)?.error).toBeUndefined();
    expect(summary(await request(url))).toMatchObject({ status: 404, body: 'No Connection with that ID' });
  });

  it('disposes a connection that stops polling after the disconnect timeout', async () => {
    const { url, connectionId } = await start('/hubs/short-polls');
    const hub = app.app.get(ShortPollsHub);
    await waitUntil(() => hub.disconnects.some((entry) => entry.id === connectionId));
    expect(summary(await request(url))).toMatchObject({ status: 404, body: 'No Connection with that ID' });
  });

  it('counts a poll answered at once as activity: a connection whose every poll finds data waiting is not disposed as idle', async () => {
    // The sender connects first: its negotiate and handshake must not eat into the poller's idle time.
    const sender = await connect(app.url('/hubs/busy-polls'));
    const { url } = await start('/hubs/busy-polls');
    // Each poll comes once the broadcast before it is queued, for three disconnect timeouts (1 s each).
    const started = Date.now();
    let rounds = 0;
    for (; Date.now() - started < 3000; rounds++) {
      await sender.invoke('Broadcast', `round ${rounds}`);
      const poll = await request(url);
      expect([poll.status, poll.body.toString()]).toEqual([200, `{"type":1,"target":"news","arguments":["round ${rounds}"]}${RS}`]);
    }
    expect(rounds).toBeGreaterThan(3);
  });

  it('delivers the Close message to the next poll after the hub ends the connection, then answers 204', async () => {
    const { url } = await start();
    await request(url, { method: 'POST', body: `{"type":1,"invocationId":"1","target":"Leave","arguments":[]}${RS}` });
    expect((await request(url)).body.toString()).toBe(`{"type":7}${RS}`);
    expect(summary(await request(url))).toMatchObject({ status: 204 });
  });

  it('refuses a WebSocket or an event stream for a long-polling connection with 400', async () => {
    const { url } = await start();
    await expect(RawSocket.open(url)).rejects.toMatchObject({ status: 400, body: 'Cannot change transports mid-connection' });
    const stream = await request(url, { headers: { Accept: 'text/event-stream' } });
    expect(summary(stream)).toMatchObject({ status: 400, body: 'Cannot change transports mid-connection' });
  });

  it('applies concurrent POSTs one at a time, so their bytes never interleave', async () => {
    const { url } = await start();
    const record1 = invocation('1', 1, 1);
    let markArrived!: () => void;
    const secondArrived = new Promise<void>((resolve) => (markArrived = resolve));
    const first = new Promise<number>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', agent: false, headers: { 'Content-Length': Buffer.byteLength(record1) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      // Half a record now, the rest after the second POST has arrived.
      req.write(record1.slice(0, 20));
      void secondArrived.then(() => req.end(record1.slice(20)));
    });
    const server = app.app.getHttpServer();
    const watch = (req: http.IncomingMessage) => {
      if (req.method === 'POST' && req.headers['x-second'] === '1') {
        server.off('request', watch);
        setImmediate(markArrived);
      }
    };
    server.prependListener('request', watch);
    let secondDone = false;
    const second = request(url, { method: 'POST', body: invocation('2', 2, 2), headers: { 'X-Second': '1' } }).then((response) => {
      secondDone = true;
      return response.status;
    });
    await secondArrived;
    expect(secondDone).toBe(false);
    expect(await first).toBe(200);
    expect(await second).toBe(200);
    const body = (await request(url)).body.toString();
    expect(body).toBe(`{"type":3,"invocationId":"1","result":2}${RS}{"type":3,"invocationId":"2","result":4}${RS}`);
  });

  it('carries the official client, with the identity of its first poll', async () => {
    const client = await connect(`${app.url('/hubs/transports')}?room=green`, {
      transport: HttpTransportType.LongPolling,
      headers: { 'X-Test': 'lp' },
    });
    expect(await client.invoke('Transport')).toBe('LongPolling');
    expect(await client.invoke('Header', 'X-Test')).toBe('lp');
    expect(await client.invoke('Query', 'room')).toBe('green');
    const other = await connect(app.url('/hubs/transports'), { transport: HttpTransportType.LongPolling });
    const news = nextCall(other, 'news');
    await client.invoke('Broadcast', 'over long polling');
    expect(await news).toEqual(['over long polling']);
  });

  it('lists a hub’s transports in its order, and the default client takes the first', async () => {
    const { availableTransports } = (await (await fetch(app.url('/hubs/http-only/negotiate?negotiateVersion=1'), { method: 'POST' })).json()) as {
      availableTransports: Array<{ transport: string }>;
    };
    expect(availableTransports.map((entry) => entry.transport)).toEqual(['LongPolling', 'ServerSentEvents']);
    const client = await connect(app.url('/hubs/http-only'), { transport: undefined });
    expect(await client.invoke('Transport')).toBe('LongPolling');
    await expect(RawSocket.open(app.url('/hubs/http-only'))).rejects.toMatchObject({
      status: 404,
      body: 'WebSockets transport not supported by this end point type',
    });
  });
});
