import { HttpTransportType, LogLevel, TransferFormat } from '@microsoft/signalr';
import { Test } from '@nestjs/testing';
import { ConnectionHandler, Hub, SignalRModule, type OnRawConnection, type RawConnection } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { HttpConnection } from '../conformance/official-client.js';
import { createApp, startApp, type TestApp } from '../support/app.js';
import { request } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

/** Greets with what it knows of the connection, echoes in upper case, and ends the connection on `bye`. */
@ConnectionHandler('/raw/shout')
class ShoutHandler implements OnRawConnection {
  readonly ended: string[] = [];

  async onConnected(connection: RawConnection): Promise<void> {
    const user = connection.user as { name?: string } | undefined;
    connection.send(`hello ${connection.connectionId} ${connection.transport} ${connection.request.query.get('tag')} ${user?.name ?? 'anonymous'}`);
    try {
      for await (const message of connection) {
        if (message === 'bye') return;
        if (message === 'fail') throw new Error('handler failed');
        connection.send(typeof message === 'string' ? message.toUpperCase() : message);
      }
    } finally {
      this.ended.push(connection.isOpen ? 'server' : 'client');
    }
  }
}

/** Reads nothing until `release` is sent on another connection, then reports what it got, in order. */
@ConnectionHandler('/raw/slow-reader')
class SlowReaderHandler implements OnRawConnection {
  private gate: (() => void) | null = null;
  readonly waiting = new Promise<void>((resolve) => (this.opened = resolve));
  private opened!: () => void;

  async onConnected(connection: RawConnection): Promise<void> {
    if (connection.request.query.get('role') === 'release') {
      for await (const message of connection) if (message === 'release') this.gate?.();
      return;
    }
    await new Promise<void>((resolve) => {
      this.gate = resolve;
      this.opened();
    });
    const received: string[] = [];
    for await (const message of connection) {
      received.push(String(message));
      if (received.length === 200) break;
    }
    connection.send(`${received.length} in order: ${received.every((item, index) => item === String(index))}`);
  }
}

@ConnectionHandler('/raw/members', { requireAuthentication: true, transports: ['LongPolling'] })
class MembersOnlyHandler implements OnRawConnection {
  onConnected(connection: RawConnection): void {
    connection.send('welcome');
  }
}

/** Short timeouts, so the shared tick's work for raw connections shows within a test. */
@ConnectionHandler('/raw/short-polls', { pollTimeout: 300, disconnectTimeout: 400 })
class ShortPollsHandler implements OnRawConnection {
  readonly ended: string[] = [];

  async onConnected(connection: RawConnection): Promise<void> {
    for await (const _ of connection); // until the client leaves
    this.ended.push(connection.isOpen ? 'server' : 'client');
  }
}

/**
 * The public API for raw connections (`@ConnectionHandler`, `RawConnection`) beyond the echo the
 * conformance app needs: what a handler sees, ending from either side, errors, bounded reading,
 * options, shutdown and bootstrap mistakes.
 */
describe('Connection handlers (raw connections without the hub protocol)', () => {
  let app: TestApp;
  const stats = () => app.app.get(SignalRServer).stats();

  beforeAll(async () => {
    app = await startApp({
      imports: [
        SignalRModule.forRoot({
          authenticate: (request) => {
            const name = request.query.get('user') ?? request.headers['x-user'];
            return name ? { sub: name, name } : undefined;
          },
        }),
      ],
      providers: [ShoutHandler, SlowReaderHandler, MembersOnlyHandler, ShortPollsHandler],
    });
  });
  afterAll(() => app.close());

  it('a handler sees the connection’s id, transport, request and user; returning ends a WebSocket with 1000', async () => {
    const { connectionId, connectionToken } = JSON.parse(
      (await request(app.url('/raw/shout/negotiate?negotiateVersion=1&user=ada'), { method: 'POST' })).body.toString(),
    );
    const raw = await RawSocket.open(app.url(`/raw/shout?id=${connectionToken}&tag=t1&user=ada`));
    expect((await raw.nextFrame()).data.toString()).toBe(`hello ${connectionId} WebSockets t1 ada`);
    raw.sendText('quiet');
    expect((await raw.nextFrame()).data.toString()).toBe('QUIET');
    raw.sendText('bye');
    expect(await raw.closed()).toBe(1000);
    await waitUntil(() => stats().registered === 0 && stats().running === 0);
  });

  it('a handler that throws closes the WebSocket with 1011; one whose client leaves sees the loop end', async () => {
    const handler = app.app.get(ShoutHandler);
    const failing = await RawSocket.open(app.url('/raw/shout'));
    await failing.nextFrame();
    failing.sendText('fail');
    expect(await failing.closed()).toBe(1011);

    const leaving = await RawSocket.open(app.url('/raw/shout'));
    await leaving.nextFrame();
    handler.ended.length = 0;
    leaving.close();
    await waitUntil(() => handler.ended.length === 1);
    expect(handler.ended).toEqual(['client']);
    await waitUntil(() => stats().registered === 0 && stats().running === 0);
  });

  it('over long polling a handler that returns ends the connection with 204: the official client closes without error', async () => {
    const connection = new HttpConnection(app.url('/raw/shout?tag=lp'), { transport: HttpTransportType.LongPolling, logger: LogLevel.None });
    const received: unknown[] = [];
    const closed = new Promise<Error | undefined>((resolve) => (connection.onclose = resolve));
    connection.onreceive = (data) => received.push(data);
    await connection.start(TransferFormat.Text);
    const id = connection.connectionId;
    await connection.send('bye');
    expect(await closed).toBeUndefined();
    expect(received.join('')).toBe(`hello ${id} LongPolling lp anonymous`);
    await waitUntil(() => stats().registered === 0 && stats().running === 0);
  });

  it('a handler that does not read holds the client back instead of buffering without bound, and loses nothing', async () => {
    const handler = app.app.get(SlowReaderHandler);
    const slow = await RawSocket.open(app.url('/raw/slow-reader'));
    await handler.waiting;
    for (let i = 0; i < 200; i++) slow.sendText(String(i));
    const release = await RawSocket.open(app.url('/raw/slow-reader?role=release'));
    release.sendText('release');
    expect((await slow.nextFrame()).data.toString()).toBe('200 in order: true');
    slow.close();
    release.close();
    await waitUntil(() => stats().registered === 0 && stats().running === 0);
  });

  it('per-handler options: required authentication (401, empty body) and the transports offered', async () => {
    const refused = await request(app.url('/raw/members/negotiate?negotiateVersion=1'), { method: 'POST' });
    expect([refused.status, refused.body.length]).toEqual([401, 0]);
    const accepted = await request(app.url('/raw/members/negotiate?negotiateVersion=1'), { method: 'POST', headers: { 'X-User': 'bob' } });
    expect(JSON.parse(accepted.body.toString()).availableTransports).toEqual([{ transport: 'LongPolling', transferFormats: ['Text', 'Binary'] }]);
    await expect(RawSocket.open(app.url('/raw/members?user=bob'))).rejects.toMatchObject({
      status: 404,
      body: 'WebSockets transport not supported by this end point type',
    });
    const { connectionToken } = JSON.parse(accepted.body.toString());
    const sse = await request(app.url(`/raw/members?id=${connectionToken}`), { headers: { Accept: 'text/event-stream', 'X-User': 'bob' } });
    expect([sse.status, sse.body.toString()]).toEqual([404, 'ServerSentEvents transport not supported by this end point type']);
    expect((await request(app.url(`/raw/members?id=${connectionToken}`))).status).toBe(401);
    const first = await request(app.url(`/raw/members?id=${connectionToken}`), { headers: { 'X-User': 'bob' } });
    expect(first.status).toBe(200);
    // Every later poll is authenticated again.
    expect((await request(app.url(`/raw/members?id=${connectionToken}`))).status).toBe(401);
    const next = await request(app.url(`/raw/members?id=${connectionToken}`), { headers: { 'X-User': 'bob' } });
    expect([next.status, next.body.toString()]).toEqual([200, 'welcome']);
    expect((await request(app.url(`/raw/members?id=${connectionToken}`), { headers: { 'X-User': 'bob' } })).status).toBe(204);
    await waitUntil(() => stats().registered === 0 && stats().running === 0);
  });

  it('on the tick hubs share: a negotiated connection without a transport goes, a poll times out empty, a client that stops polling leaves', async () => {
    const negotiate = async () => JSON.parse((await request(app.url('/raw/short-polls/negotiate?negotiateVersion=1'), { method: 'POST' })).body.toString());
    const unused = (await negotiate()).connectionToken;
    expect(stats().registered).toBe(1);
    await waitUntil(() => stats().registered === 0);
    expect((await request(app.url(`/raw/short-polls?id=${unused}`))).status).toBe(404);

    const handler = app.app.get(ShortPollsHandler);
    const url = app.url(`/raw/short-polls?id=${(await negotiate()).connectionToken}`);
    expect((await request(url)).status).toBe(200); // the first poll starts the connection
    const started = Date.now();
    const poll = await request(url);
    expect([poll.status, poll.body.length]).toEqual([200, 0]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // No poll for disconnectTimeout: the connection ends as if the client had left.
    await waitUntil(() => handler.ended.length === 1);
    expect(handler.ended).toEqual(['client']);
    await waitUntil(() => stats().registered === 0 && stats().running === 0);
  });

  it('a message over maximumReceiveMessageSize is refused: 413 for a POST, close 1009 for a WebSocket frame', async () => {
    const { connectionToken } = JSON.parse((await request(app.url('/raw/shout/negotiate?negotiateVersion=1'), { method: 'POST' })).body.toString());
    const url = app.url(`/raw/shout?id=${connectionToken}`);
    expect((await request(url)).status).toBe(200); // the first poll starts the connection
    expect((await request(url, { method: 'POST', body: 'x'.repeat(32_769) })).status).toBe(413);
    expect((await request(url, { method: 'POST', body: 'x'.repeat(32_768), headers: { 'Content-Type': 'text/plain' } })).status).toBe(200);
    expect((await request(url, { method: 'DELETE' })).status).toBe(202);

    const raw = await RawSocket.open(app.url('/raw/shout'));
    await raw.nextFrame();
    raw.sendText('x'.repeat(32_769));
    expect(await raw.closed()).toBe(1009);
    await waitUntil(() => stats().registered === 0 && stats().running === 0);
  });

  it('app.close() ends running raw connections (WebSocket 1000) and leaves nothing behind', async () => {
    const own = await startApp({ imports: [SignalRModule.forRoot({})], providers: [ShoutHandler] });
    const raw = await RawSocket.open(own.url('/raw/shout'));
    await raw.nextFrame();
    await own.close();
    expect(await raw.closed()).toBe(1000);
    expect(own.app.get(SignalRServer).stats()).toEqual({ registered: 0, running: 0 });
  });

  it('a path used by a hub and a connection handler, or a handler without onConnected, fails the bootstrap', async () => {
    @Hub('/raw/shout')
    class ClashingHub {}
    @ConnectionHandler('/raw/nothing')
    class EmptyHandler {}
    const boot = async (providers: unknown[]) => {
      const moduleRef = await Test.createTestingModule({ imports: [SignalRModule.forRoot({})], providers: providers as never[] }).compile();
      const nest = createApp(moduleRef);
      try {
        await nest.init();
        return 'started';
      } catch (error) {
        return (error as Error).message;
      } finally {
        await nest.close();
      }
    };
    expect(await boot([ClashingHub, ShoutHandler])).toBe(
      "Path '/raw/shout' is used by both ClashingHub and ShoutHandler. Each hub and connection handler needs its own path.",
    );
    expect(await boot([EmptyHandler])).toBe('Connection handler EmptyHandler has no onConnected(connection) method.');
  });
});
