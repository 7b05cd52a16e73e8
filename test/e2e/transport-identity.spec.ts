import { HttpTransportType } from '@microsoft/signalr';
import WebSocket from 'ws';
import { HubRequest, SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { FallbackHub } from '../fixtures/long-poll.hubs.js';
import { TransportsHub } from '../fixtures/transports.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, stopAll } from '../support/client.js';
import { EventStream, negotiate, request } from '../support/http.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

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

  it('takes the user from the WebSocket upgrade, not from negotiate', async () => {
    const { connectionToken } = await negotiate(hub(), { headers: { 'X-User': 'from-negotiate' } });
    const socket = await RawSocket.open(`${hub()}?id=${connectionToken}`, { 'X-User': 'from-upgrade' });
    socket.sendText(HANDSHAKE);
    await socket.nextFrame();
    socket.send({ type: 1, invocationId: '1', target: 'Header', arguments: ['X-User'] });
    expect(await socket.nextMessage()).toEqual({ type: 3, invocationId: '1', result: 'from-upgrade' });
    expect(identified.slice(-2)).toEqual(['POST from-negotiate', 'GET from-upgrade']);
    socket.close();
  });

  it('takes the user from the event-stream GET and from the first poll', async () => {
    for (const accept of ['text/event-stream', undefined]) {
      const { connectionToken } = await negotiate(hub(), { headers: { 'X-User': 'from-negotiate' } });
      const url = `${hub()}?id=${connectionToken}`;
      const headers: Record<string, string> = { 'X-User': 'from-transport' };
      const stream = accept ? await EventStream.open(url, headers) : null;
      if (!stream) await request(url, { headers });
      // Later requests (POSTs, polls) do not change who the connection is.
      await request(url, { method: 'POST', body: HANDSHAKE + `{"type":1,"invocationId":"1","target":"Header","arguments":["X-User"]}${RS}`, headers: { 'X-User': 'someone-else' } });
      const received = stream ? await stream.until((text) => text.includes('"invocationId":"1"')) : (await request(url)).body.toString();
      expect(received).toContain(`{"type":3,"invocationId":"1","result":"from-transport"}${RS}`);
      stream?.close();
      if (!stream) await request(url, { method: 'DELETE' });
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
