import { HttpTransportType } from '@microsoft/signalr';
import type { LoggerService } from '@nestjs/common';
import WebSocket from 'ws';
import { HubRequest, SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { EchoConnectionHandler } from '../conformance/echo.connection-handler.js';
import { signalRWithJwt, token } from '../fixtures/auth-tokens.js';
import { FallbackHub } from '../fixtures/long-poll.hubs.js';
import { OwnedHub, OwnedJournal } from '../fixtures/owned.hub.js';
import { TransportsHub } from '../fixtures/transports.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, stopAll } from '../support/client.js';
import { EventStream, negotiate, request } from '../support/http.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';
import { ClientCausedLogs } from '../../src/logging/rate-limited-log.js';

/** Each test asserts its own log lines: the process-wide limit on client-caused lines starts afresh. */
beforeEach(() => Object.values(ClientCausedLogs).forEach((log) => log.endWindow()));

const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;

/** A WebSocket class for the official client that can never connect, like a proxy that blocks WebSockets. */
class BlockedWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[], options?: WebSocket.ClientOptions) {
    super(url.replace(/:\d+/, ':1'), protocols, options);
  }
}

describe('the request that carries the transport decides identity', () => {
  let app: TestApp;
  /** The user name `authenticate` saw per request kind, to show negotiate is not what counts. */
  const identified: string[] = [];
  const hub = () => app.url('/hubs/transports');

  beforeAll(async () => {
    app = await startApp({
      imports: [
        SignalRModule.forRoot({
          authenticate: (request: HubRequest) => {
            const user = request.headers['x-user'] as string | undefined;
            identified.push(`${request.method} ${user}`);
            return user ? { sub: user } : undefined;
          },
        }),
      ],
      providers: [TransportsHub, FallbackHub],
    });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it.each([
    ['WebSockets', HttpTransportType.WebSockets],
    ['ServerSentEvents', HttpTransportType.ServerSentEvents],
    ['LongPolling', HttpTransportType.LongPolling],
  ])('gives hub code the headers, query and cookies of the %s request', async (name, transport) => {
    const client = await connect(`${hub()}?room=red`, {
      transport,
      headers: { Cookie: 'theme=dark; session=s%20one', 'X-Test': name },
    });
    expect(await client.invoke('Transport')).toBe(name);
    expect(await client.invoke('Cookie', 'theme')).toBe('dark');
    expect(await client.invoke('Cookie', 'session')).toBe('s one');
    expect(await client.invoke('Cookie', 'missing')).toBeNull();
    expect(await client.invoke('Header', 'X-Test')).toBe(name);
    expect(await client.invoke('Query', 'room')).toBe('red');
  });

  it('takes the user (and the request hub code sees) from the WebSocket upgrade; negotiate only decided who may make it', async () => {
    const { connectionToken } = await negotiate(hub(), { headers: { 'X-User': 'ada', 'X-Test': 'negotiate' } });
    const socket = await RawSocket.open(`${hub()}?id=${connectionToken}`, { 'X-User': 'ada', 'X-Test': 'upgrade' });
    socket.sendText(HANDSHAKE);
    await socket.nextFrame();
    socket.send({ type: 1, invocationId: '1', target: 'Header', arguments: ['X-Test'] });
    expect(await socket.nextMessage()).toEqual({ type: 3, invocationId: '1', result: 'upgrade' });
    expect(identified.slice(-2)).toEqual(['POST ada', 'GET ada']);
    socket.close();
  });

  it('takes the request from the event-stream GET and from the first poll; later requests do not change it', async () => {
    for (const accept of ['text/event-stream', undefined]) {
      const { connectionToken } = await negotiate(hub(), { headers: { 'X-User': 'ada', 'X-Test': 'negotiate' } });
      const url = `${hub()}?id=${connectionToken}`;
      const headers: Record<string, string> = { 'X-User': 'ada', 'X-Test': 'transport' };
      const stream = accept ? await EventStream.open(url, headers) : null;
      if (!stream) await request(url, { headers });
      const send = HANDSHAKE + `{"type":1,"invocationId":"1","target":"Header","arguments":["X-Test"]}${RS}`;
      expect((await request(url, { method: 'POST', body: send, headers: { 'X-User': 'ada', 'X-Test': 'later' } })).status).toBe(200);
      const received = stream ? await stream.until((text) => text.includes('"invocationId":"1"')) : (await request(url, { headers })).body.toString();
      expect(received).toContain(`{"type":3,"invocationId":"1","result":"transport"}${RS}`);
      stream?.close();
      if (!stream) await request(url, { method: 'DELETE', headers });
    }
  });

  it('falls back to Server-Sent Events when WebSockets cannot connect; the abandoned connection is reaped', async () => {
    const server = app.app.get(SignalRServer);
    await stopAll();
    await waitUntil(() => server.stats().registered === 0);
    const client = await connect(app.url('/hubs/fallback'), {
      transport: HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling,
      WebSocket: BlockedWebSocket,
    } as object);
    expect(await client.invoke('Transport')).toBe('ServerSentEvents');
    // The client negotiated twice: once for the WebSocket that failed, once for the event stream.
    expect(server.stats()).toEqual({ registered: 2, running: 1 });
    await waitUntil(() => server.stats().registered === 1);
    await expect(client.invoke('Add', 1, 2)).resolves.toBe(3);
  });

  it('falls back to long polling when neither WebSockets nor event streams are available', async () => {
    const client = await connect(app.url('/hubs/fallback'), {
      transport: HttpTransportType.WebSockets | HttpTransportType.LongPolling,
      WebSocket: BlockedWebSocket,
    } as object);
    expect(await client.invoke('Transport')).toBe('LongPolling');
  });
});

/** Nest's log lines as `<level> <context>: <message>`. */
function lineLogger(lines: string[]): LoggerService {
  const push =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) =>
      lines.push(`${level} ${String(rest[rest.length - 1])}: ${String(message)}`);
  return { log: () => undefined, warn: push('warn'), error: push('error'), fatal: push('fatal'), debug: () => undefined, verbose: () => undefined };
}

describe('a connection belongs to the user who negotiated it: a leaked connection token is no use to anyone else', () => {
  let app: TestApp;
  let journal: OwnedJournal;
  const logs: string[] = [];
  const owned = () => app.url('/hubs/owned');
  const bob = { Authorization: `Bearer ${token({ sub: 'bob' })}` };
  const grace = { Authorization: `Bearer ${token({ sub: 'grace' })}` };
  const intruders: Array<[string, Record<string, string>, string]> = [
    ['no JWT', {}, '(anonymous)'],
    ["another user's valid JWT", grace, 'grace'],
  ];
  const invoke = (id: string, target: string, ...args: unknown[]) => JSON.stringify({ type: 1, invocationId: id, target, arguments: args }) + RS;
  const changed = (from: string, to: string, connectionId: string) =>
    `warn SignalR: Rejecting the request because the name of the user changed from '${from}' to '${to}' on connection ${connectionId}.`;

  beforeAll(async () => {
    app = await startApp({ imports: [signalRWithJwt()], providers: [OwnedJournal, OwnedHub, EchoConnectionHandler] }, (nest) =>
      nest.useLogger(lineLogger(logs)),
    );
    journal = app.app.get(OwnedJournal);
  });
  beforeEach(() => {
    logs.length = 0;
    journal.calls.length = 0;
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  /** Polls as `headers` until the text holds `until`; returns everything received. */
  async function pollUntil(url: string, headers: Record<string, string>, until: string): Promise<string> {
    let text = '';
    while (!text.includes(until)) {
      const poll = await request(url, { headers });
      expect(poll.status).toBe(200);
      text += poll.body.toString();
    }
    return text;
  }

  it.each(intruders)('long polling, %s: POST, poll and DELETE get 403 and change nothing; the owner carries on', async (_, intruder, who) => {
    const { connectionId, connectionToken } = await negotiate(owned(), { headers: bob });
    const url = `${owned()}?id=${connectionToken}`;
    expect((await request(url, { headers: bob })).status).toBe(200); // the first poll starts long polling
    expect((await request(url, { method: 'POST', headers: bob, body: HANDSHAKE })).status).toBe(200);
    expect(await pollUntil(url, bob, RS)).toBe(`{}${RS}`);

    const refused = [
      await request(url, { method: 'POST', headers: intruder, body: invoke('1', 'Note', 'intruder') }),
      await request(url, { headers: intruder }),
      await request(url, { method: 'DELETE', headers: intruder }),
    ];
    expect(refused.map(({ status, body }) => [status, body.toString()])).toEqual([
      [403, ''],
      [403, ''],
      [403, ''],
    ]);
    expect(logs).toEqual([changed('bob', who, connectionId), changed('bob', who, connectionId), changed('bob', who, connectionId)]);

    // The intruder's call never ran; the owner's (with a fresh token of the same user) does, and its poll gets the answer.
    const renewed = { Authorization: `Bearer ${token({ sub: 'bob', name: 'Bob' }, { expiresIn: 7200 })}` };
    expect((await request(url, { method: 'POST', headers: renewed, body: invoke('2', 'Note', 'owner') })).status).toBe(200);
    expect(await pollUntil(url, bob, '"invocationId":"2"')).toBe(`{"type":3,"invocationId":"2","result":"bob: owner"}${RS}`);
    expect(journal.calls).toEqual(['bob: owner']);
    expect((await request(url, { method: 'DELETE', headers: bob })).status).toBe(202);
  });

  it.each(intruders)("event stream, %s: a POST and a second stream get 403; the owner's stream goes on", async (_, intruder) => {
    const { connectionToken } = await negotiate(owned(), { headers: bob });
    const url = `${owned()}?id=${connectionToken}`;
    const stream = await EventStream.open(url, bob);
    expect((await request(url, { method: 'POST', headers: bob, body: HANDSHAKE })).status).toBe(200);
    expect((await request(url, { method: 'POST', headers: intruder, body: invoke('1', 'Note', 'intruder') })).status).toBe(403);
    const second = await EventStream.open(url, intruder);
    await second.end();
    expect(second.status).toBe(403);
    expect((await request(url, { method: 'POST', headers: bob, body: invoke('2', 'Note', 'owner') })).status).toBe(200);
    expect(await stream.until((text) => text.includes('"invocationId":"2"'))).toContain('"result":"bob: owner"');
    expect(journal.calls).toEqual(['bob: owner']);
    expect(logs).toHaveLength(2);
    stream.close();
  });

  it.each(intruders)("stateful WebSocket, %s: the re-attach gets 403; the owner's socket keeps its connection and its messages", async (_, intruder, who) => {
    const response = await request(`${owned()}/negotiate?negotiateVersion=1&useStatefulReconnect=true`, { method: 'POST', headers: bob });
    const { connectionId, connectionToken } = JSON.parse(response.body.toString()) as { connectionId: string; connectionToken: string };
    const socket = await RawSocket.open(`${owned()}?id=${connectionToken}`, bob);
    socket.sendText(`{"protocol":"json","version":2}${RS}`);
    expect((await socket.nextFrame()).data.toString()).toBe(`{}${RS}`);

    await expect(RawSocket.open(`${owned()}?id=${connectionToken}`, intruder)).rejects.toMatchObject({ status: 403, body: '' });
    expect(logs).toEqual([changed('bob', who, connectionId)]);
    // Messages for bob still reach bob's socket, which is still the connection's.
    socket.send({ type: 1, invocationId: '1', target: 'ToUser', arguments: ['bob', 'order shipped'] });
    expect(await socket.nextRecords(2)).toEqual([
      { type: 1, target: 'note', arguments: ['order shipped'] },
      { type: 3, invocationId: '1', result: null },
    ]);
    socket.close();
  });

  it.each(intruders)(
    'the request that starts the transport, %s: 403 for a WebSocket, an event stream and a first poll; the owner still starts it',
    async (_, intruder) => {
      const { connectionToken } = await negotiate(owned(), { headers: bob });
      const url = `${owned()}?id=${connectionToken}`;
      await expect(RawSocket.open(url, intruder)).rejects.toMatchObject({ status: 403, body: '' });
      const stream = await EventStream.open(url, intruder);
      await stream.end();
      expect({ status: stream.status, text: stream.text }).toEqual({ status: 403, text: '' });
      expect((await request(url, { headers: intruder })).status).toBe(403);
      expect(logs).toHaveLength(3);

      const socket = await RawSocket.open(url, bob);
      socket.sendText(HANDSHAKE);
      await socket.nextFrame();
      socket.send({ type: 1, invocationId: '1', target: 'Note', arguments: ['owner'] });
      expect(await socket.nextMessage()).toEqual({ type: 3, invocationId: '1', result: 'bob: owner' });
      socket.close();
    },
  );

  it('an anonymous connection stays anonymous: a later request with a JWT gets 403, an anonymous one goes through', async () => {
    const { connectionId, connectionToken } = await negotiate(owned());
    const url = `${owned()}?id=${connectionToken}`;
    expect((await request(url)).status).toBe(200);
    expect((await request(url, { method: 'POST', headers: bob, body: HANDSHAKE })).status).toBe(403);
    expect((await request(url, { headers: bob })).status).toBe(403);
    expect(logs).toEqual([changed('(anonymous)', 'bob', connectionId), changed('(anonymous)', 'bob', connectionId)]);
    expect((await request(url, { method: 'POST', body: HANDSHAKE + invoke('1', 'Note', 'anyone') })).status).toBe(200);
    expect(await pollUntil(url, {}, '"invocationId":"1"')).toBe(`{}${RS}{"type":3,"invocationId":"1","result":"null: anyone"}${RS}`);
    expect((await request(url, { method: 'DELETE' })).status).toBe(202);
  });

  it('a user without an identifier is not anonymous: an anonymous later request gets 403', async () => {
    const nameless = { Authorization: `Bearer ${token({ name: 'no sub' })}` };
    const { connectionId, connectionToken } = await negotiate(owned(), { headers: nameless });
    const url = `${owned()}?id=${connectionToken}`;
    expect((await request(url, { headers: nameless })).status).toBe(200);
    expect((await request(url, { method: 'POST', body: HANDSHAKE })).status).toBe(403);
    expect(logs).toEqual([changed('(null)', '(anonymous)', connectionId)]);
    expect((await request(url, { method: 'DELETE', headers: nameless })).status).toBe(202);
  });

  it.each(intruders)('a raw connection handler, %s: the POST gets 403 and is not echoed', async (_, intruder) => {
    const { connectionToken } = await negotiate(app.url('/echo'), { headers: bob });
    const url = `${app.url('/echo')}?id=${connectionToken}`;
    expect((await request(url, { headers: bob })).status).toBe(200);
    expect((await request(url, { method: 'POST', headers: intruder, body: 'stolen' })).status).toBe(403);
    expect((await request(url, { headers: intruder })).status).toBe(403);
    expect((await request(url, { method: 'POST', headers: bob, body: 'mine' })).status).toBe(200);
    expect((await request(url, { headers: bob })).body.toString()).toBe('mine');
    expect((await request(url, { method: 'DELETE', headers: bob })).status).toBe(202);
  });
});
