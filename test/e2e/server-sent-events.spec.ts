import { HttpTransportType } from '@microsoft/signalr';
import { SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { formatEvent } from '../../src/transports/server-sent-events.transport.js';
import { TransportsHub } from '../fixtures/transports.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, nextCall, stopAll } from '../support/client.js';
import { EventStream, negotiate, request } from '../support/http.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;
const event = (payload: string) => `data: ${payload}\r\n\r\n`;

describe('Server-Sent Events', () => {
  let app: TestApp;
  const hub = () => app.url('/hubs/transports');
  const at = (token: string) => `${hub()}?id=${encodeURIComponent(token)}`;
  const post = (token: string, body: string) => request(at(token), { method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });

  /** Negotiates, opens the stream and completes the handshake. */
  async function openStream(): Promise<{ token: string; connectionId: string; stream: EventStream }> {
    const { connectionToken: token, connectionId } = await negotiate(hub());
    const stream = await EventStream.open(at(token));
    await stream.until((text) => text === ':\r\n');
    await post(token, HANDSHAKE);
    await stream.until((text) => text.endsWith(event(`{}${RS}`)));
    return { token, connectionId, stream };
  }

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [TransportsHub] });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it('opens with the reference headers and a comment line, then carries the handshake and invocations', async () => {
    const { connectionToken: token } = await negotiate(hub());
    const stream = await EventStream.open(at(token));
    expect(stream.status).toBe(200);
    expect(stream.headers).toMatchObject({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache,no-store',
      pragma: 'no-cache',
      'content-encoding': 'identity',
    });
    expect(await stream.until((text) => text.length > 0)).toBe(':\r\n');
    const accepted = await post(token, HANDSHAKE);
    expect([accepted.status, accepted.headers['content-type'], accepted.body.length]).toEqual([200, 'text/plain', 0]);
    await stream.until((text) => text === `:\r\n${event(`{}${RS}`)}`);
    await post(token, `{"type":1,"invocationId":"1","target":"Add","arguments":[2,3]}${RS}`);
    await stream.until((text) => text.endsWith(event(`{"type":3,"invocationId":"1","result":5}${RS}`)));
    stream.close();
  });

  it('sends several records queued in one tick as one event', async () => {
    const { token, stream } = await openStream();
    const before = stream.text.length;
    await post(token, `{"type":1,"invocationId":"a","target":"Add","arguments":[1,1]}${RS}{"type":1,"invocationId":"b","target":"Add","arguments":[2,2]}${RS}`);
    const records = `{"type":3,"invocationId":"a","result":2}${RS}{"type":3,"invocationId":"b","result":4}${RS}`;
    await stream.until((text) => text.length > before);
    expect(await stream.until((text) => text.slice(before).length >= event(records).length)).toBe(stream.text.slice(0, before) + event(records));
    stream.close();
  });

  it('refuses a second stream with 409, a poll or a WebSocket with 400', async () => {
    const { token, stream } = await openStream();
    const second = await EventStream.open(at(token));
    expect(second.status).toBe(409);
    await second.end();
    const poll = await request(at(token));
    expect([poll.status, poll.body.toString()]).toEqual([400, 'Cannot change transports mid-connection']);
    await expect(RawSocket.open(at(token))).rejects.toMatchObject({ status: 400, body: 'Cannot change transports mid-connection' });
    await post(token, `{"type":1,"invocationId":"1","target":"Add","arguments":[1,2]}${RS}`);
    await stream.until((text) => text.endsWith(event(`{"type":3,"invocationId":"1","result":3}${RS}`)));
    stream.close();
  });

  it('refuses DELETE on an event-stream connection', async () => {
    const { token, stream } = await openStream();
    const deleted = await request(at(token), { method: 'DELETE' });
    expect([deleted.status, deleted.body.toString()]).toEqual([400, 'Cannot terminate this connection using the DELETE endpoint.']);
    stream.close();
  });

  it('ends the stream after the Close message when the hub aborts the connection', async () => {
    const { token, stream } = await openStream();
    await post(token, `{"type":1,"invocationId":"1","target":"Leave","arguments":[]}${RS}`);
    await stream.end();
    expect(stream.text.endsWith(event(`{"type":7}${RS}`))).toBe(true);
  });

  it('closes with the protocol error on bad input, and the stream ends', async () => {
    const { token, stream } = await openStream();
    await post(token, `{"type":1,"target":${RS}`);
    await stream.end();
    expect(stream.text.endsWith(event(`{"type":7,"error":"Connection closed with an error.","allowReconnect":true}${RS}`))).toBe(true);
  });

  it('treats the client closing the stream as a clean disconnect and forgets the connection', async () => {
    const { connectionId, stream } = await openStream();
    const server = app.app.get(SignalRServer);
    const hubInstance = app.app.get(TransportsHub);
    stream.close();
    await waitUntil(() => hubInstance.disconnects.some((entry) => entry.id === connectionId));
    expect(hubInstance.disconnects.find((entry) => entry.id === connectionId)).toEqual({ id: connectionId, error: undefined });
    await waitUntil(() => server.stats().running === 0 && server.stats().registered === 0);
  });

  it('answers a POST for an unknown id with 404 and one without an id with 400', async () => {
    const unknown = await post('nope', HANDSHAKE);
    expect([unknown.status, unknown.body.toString()]).toEqual([404, 'No Connection with that ID']);
    const missing = await request(hub(), { method: 'POST', body: HANDSHAKE });
    expect([missing.status, missing.body.toString()]).toEqual([400, 'Connection ID required']);
  });

  it('carries the official client, with the identity of the stream request', async () => {
    const client = await connect(`${hub()}?room=blue`, { transport: HttpTransportType.ServerSentEvents, headers: { 'X-Test': 'sse' } });
    expect(await client.invoke('Transport')).toBe('ServerSentEvents');
    expect(await client.invoke('Header', 'X-Test')).toBe('sse');
    expect(await client.invoke('Header', 'Accept')).toBe('text/event-stream');
    expect(await client.invoke('Query', 'room')).toBe('blue');
    const other = await connect(hub(), { transport: HttpTransportType.ServerSentEvents });
    const news = nextCall(other, 'news');
    await client.invoke('Broadcast', 'over sse');
    expect(await news).toEqual(['over sse']);
  });
});

describe('formatEvent', () => {
  it('writes one data line for a payload without line feeds', () => {
    expect(formatEvent(Buffer.from('abc')).toString()).toBe('data: abc\r\n\r\n');
  });

  it('splits lines into data lines and drops the CR of a CRLF', () => {
    expect(formatEvent(Buffer.from('a\nb\r\nc')).toString()).toBe('data: a\r\ndata: b\r\ndata: c\r\n\r\n');
  });
});
