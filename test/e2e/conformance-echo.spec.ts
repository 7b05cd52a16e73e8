import { HttpTransportType, LogLevel, TransferFormat } from '@microsoft/signalr';
import type { IConnection } from '@microsoft/signalr/dist/esm/IConnection';
import WebSocket from 'ws';
import { SignalRServer } from '../../src/signalr.server.js';
import { HttpConnection, startConformanceApp } from '../conformance/official-client.js';
import type { TestApp } from '../support/app.js';
import { request } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const TRANSPORTS = [
  ['WebSockets', HttpTransportType.WebSockets],
  ['ServerSentEvents', HttpTransportType.ServerSentEvents],
  ['LongPolling', HttpTransportType.LongPolling],
] as const;

/** An official HttpConnection (what ConnectionTests.ts drives) that records what it receives and how it closed. */
class EchoClient {
  readonly received: Array<string | ArrayBuffer> = [];
  readonly closed: Promise<Error | undefined>;
  private waiters: Array<() => void> = [];

  constructor(readonly connection: IConnection) {
    connection.onreceive = (data) => {
      this.received.push(data);
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.closed = new Promise((resolve) => (connection.onclose = resolve));
  }

  static async start(url: string, format: TransferFormat, transport?: HttpTransportType): Promise<EchoClient> {
    const client = new EchoClient(new HttpConnection(url, { logger: LogLevel.None, ...(transport === undefined ? {} : { transport }) }));
    await client.connection.start(format);
    return client;
  }

  /** Resolves once what was received, joined, is `length` characters or bytes long (long polling may join messages). */
  async receivedText(length: number): Promise<string> {
    const text = () => this.received.map((data) => (typeof data === 'string' ? data : Buffer.from(data).toString())).join('');
    while (text().length < length) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return text();
  }
}

/**
 * The conformance app's `/echo` connection handler (no hub protocol): the official client's
 * HttpConnection on every transport, plain WebSockets without negotiate, `/echoredirect`, and the
 * status codes of a connection endpoint.
 */
describe('Conformance app: /echo, a raw connection handler', () => {
  let app: TestApp;
  const clients: EchoClient[] = [];
  const stats = () => app.app.get(SignalRServer).stats();

  beforeAll(async () => {
    app = await startConformanceApp();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.connection.stop().catch(() => undefined)));
  });
  afterAll(() => app.close());

  async function echoClient(path: string, format: TransferFormat, transport?: HttpTransportType): Promise<EchoClient> {
    const client = await EchoClient.start(app.url(path), format, transport);
    clients.push(client);
    return client;
  }

  it('connects without a transport named (WebSockets), echoes text as text, and stops cleanly', async () => {
    const client = await echoClient('/echo', TransferFormat.Text);
    expect((client.connection as unknown as { transport: { constructor: { name: string } } }).transport.constructor.name).toBe('WebSocketTransport');
    await client.connection.send('Hello World!');
    expect(await client.receivedText(12)).toBe('Hello World!');
    expect(typeof client.received[0]).toBe('string');
    await client.connection.stop();
    expect(await client.closed).toBeUndefined();
  });

  describe.each(TRANSPORTS)('over %s', (name, transport) => {
    it('echoes each text message as text, in order, and the client stops cleanly', async () => {
      const client = await echoClient('/echo', TransferFormat.Text, transport);
      for (const message of ['Hello World!', '你好，世界！', 'third']) await client.connection.send(message);
      expect(await client.receivedText('Hello World!你好，世界！third'.length)).toBe('Hello World!你好，世界！third');
      expect(client.received.every((data) => typeof data === 'string')).toBe(true);
      if (name !== 'LongPolling') expect(client.received).toEqual(['Hello World!', '你好，世界！', 'third']);
      await client.connection.stop();
      expect(await client.closed).toBeUndefined();
      await waitUntil(() => stats().registered === 0 && stats().running === 0);
    });

    it('is served case-insensitively and through /echoredirect (307, query kept) where redirects can be followed', async () => {
      const client = await echoClient(name === 'LongPolling' ? '/echoredirect' : '/ECHO', TransferFormat.Text, transport);
      await client.connection.send('redirected');
      expect(await client.receivedText(10)).toBe('redirected');
    });
  });

  it.each([
    ['WebSockets', HttpTransportType.WebSockets],
    ['LongPolling', HttpTransportType.LongPolling],
  ] as const)('echoes binary as binary over %s', async (_name, transport) => {
    const client = await echoClient('/echo', TransferFormat.Binary, transport);
    await client.connection.send(new Uint8Array([0, 1, 2, 255]).buffer);
    await client.receivedText(4);
    expect(client.received[0]).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(client.received[0] as ArrayBuffer)]).toEqual([0, 1, 2, 255]);
  });

  it('a plain WebSocket without negotiate echoes, and a close without a status is answered with 1000', async () => {
    const raw = await RawSocket.open(app.url('/echo'));
    raw.sendText('message');
    expect(await raw.nextFrame()).toEqual({ data: Buffer.from('message'), binary: false });
    raw.sendBinary(Buffer.from([1, 2, 3]));
    expect(await raw.nextFrame()).toEqual({ data: Buffer.from([1, 2, 3]), binary: true });
    const serverSaid = new Promise<number>((resolve) => raw.socket.once('close', (code) => resolve(code)));
    raw.socket.close(); // no status code, as a browser's close()
    expect(await serverSaid).toBe(1000);
    await waitUntil(() => stats().registered === 0 && stats().running === 0);
  });

  it('a plain WebSocket closed with 1000 gets 1000 back', async () => {
    const socket = new WebSocket(app.url('/echo').replace(/^http/, 'ws'));
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    socket.close(1000);
    expect(await closed).toBe(1000);
  });

  it('/echoredirect answers 307 to the same path under /echo, keeping the query', async () => {
    const response = await request(app.url('/echoredirect/negotiate?negotiateVersion=1&x=y'), { method: 'POST' });
    expect([response.status, response.headers.location]).toEqual([307, '/echo/negotiate?negotiateVersion=1&x=y']);
  });

  it('answers bad requests with the connection endpoint’s status codes and texts', async () => {
    const negotiate = async () => JSON.parse((await request(app.url('/echo/negotiate?negotiateVersion=1'), { method: 'POST' })).body.toString());
    const body = await negotiate();
    expect(body.availableTransports).toEqual([
      { transport: 'WebSockets', transferFormats: ['Text', 'Binary'] },
      { transport: 'ServerSentEvents', transferFormats: ['Text'] },
      { transport: 'LongPolling', transferFormats: ['Text', 'Binary'] },
    ]);
    expect(body.connectionId).not.toBe(body.connectionToken);
    const answer = async (path: string, method = 'GET') => {
      const response = await request(app.url(path), { method });
      return [response.status, response.body.toString()];
    };
    expect(await answer('/echo')).toEqual([400, 'Connection ID required']);
    expect(await answer('/echo?id=nobody')).toEqual([404, 'No Connection with that ID']);
    expect(await answer(`/echo?id=${body.connectionId}`)).toEqual([404, 'No Connection with that ID']); // the id is not the token
    expect(await answer('/echo/negotiate', 'GET')).toEqual([405, '']);
    expect(await answer(`/echo?id=${body.connectionToken}`, 'PUT')).toEqual([405, '']);
    await expect(RawSocket.open(app.url('/echo?id=nobody'))).rejects.toMatchObject({ status: 404, body: 'No Connection with that ID' });

    const { connectionToken } = await negotiate();
    const socket = await RawSocket.open(app.url(`/echo?id=${connectionToken}`));
    expect(await answer(`/echo?id=${connectionToken}`, 'POST')).toEqual([405, 'POST requests are not allowed for WebSocket connections.']);
    expect(await answer(`/echo?id=${connectionToken}`, 'DELETE')).toEqual([400, 'Cannot terminate this connection using the DELETE endpoint.']);
    expect(await answer(`/echo?id=${connectionToken}`, 'GET')).toEqual([400, 'Cannot change transports mid-connection']);
    await expect(RawSocket.open(app.url(`/echo?id=${connectionToken}`))).rejects.toMatchObject({ status: 409 });
    socket.close();
    // The first connection, negotiated and never used, is used now rather than left for the disconnect timeout.
    (await RawSocket.open(app.url(`/echo?id=${body.connectionToken}`))).close();
    await waitUntil(() => stats().registered === 0 && stats().running === 0);
  });

  it('long polling: POSTs before the first poll are kept, the first poll answers at once, DELETE ends it with 202 and the poll with 204', async () => {
    const { connectionToken } = JSON.parse((await request(app.url('/echo/negotiate?negotiateVersion=1'), { method: 'POST' })).body.toString());
    const url = app.url(`/echo?id=${connectionToken}`);
    expect((await request(url, { method: 'POST', body: 'early', headers: { 'Content-Type': 'text/plain' } })).status).toBe(200);
    const first = await request(url);
    expect([first.status, first.body.length]).toEqual([200, 0]);
    const second = await request(url);
    expect([second.status, second.body.toString()]).toEqual([200, 'early']);
    const pending = request(url);
    expect((await request(url, { method: 'DELETE' })).status).toBe(202);
    expect((await pending).status).toBe(204);
    await waitUntil(() => stats().registered === 0 && stats().running === 0);
  });
});
