import { encode } from '@msgpack/msgpack';
import { SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { StrictHttpHub } from '../fixtures/transports.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { EventStream, negotiate, request } from '../support/http.js';
import { RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const JSON_HANDSHAKE = `{"protocol":"json","version":1}${RS}`;
const MSGPACK_HANDSHAKE = `{"protocol":"messagepack","version":1}${RS}`;
const CLOSE_WITH = (detail: string) => `{"type":7,"error":"Connection closed with an error. InvalidDataException: ${detail}","allowReconnect":true}${RS}`;
const TOO_LARGE = 'The maximum message size of 1024B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.';

/** A VarInt length prefix, as MessagePack framing writes it. */
function varint(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length & 0x7f;
    length >>>= 7;
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

const framed = (body: Uint8Array) => Buffer.concat([varint(body.length), body]);

describe('bad input over Server-Sent Events and Long Polling', () => {
  let app: TestApp;
  const hub = () => app.url('/hubs/strict-http');

  /** A long-polling connection after its first poll and handshake; returns its URL. */
  async function longPoll(handshake = JSON_HANDSHAKE): Promise<string> {
    const { connectionToken } = await negotiate(hub());
    const url = `${hub()}?id=${connectionToken}`;
    await request(url);
    await request(url, { method: 'POST', body: handshake });
    const answer = (await request(url)).body;
    expect(answer.toString()).toBe(`{}${RS}`);
    return url;
  }

  /** A healthy long-polling client keeps working next to every bad one. */
  async function healthyRoundTrip(): Promise<void> {
    const url = await longPoll();
    await request(url, { method: 'POST', body: `{"type":1,"invocationId":"ok","target":"Add","arguments":[40,2]}${RS}` });
    expect((await request(url)).body.toString()).toBe(`{"type":3,"invocationId":"ok","result":42}${RS}`);
    expect((await request(url, { method: 'DELETE' })).status).toBe(202);
  }

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [StrictHttpHub] });
  });
  afterEach(async () => {
    await healthyRoundTrip();
    const server = app.app.get(SignalRServer);
    await waitUntil(() => server.stats().registered === 0 && server.stats().running === 0).catch(() => {
      throw new Error(`connections left: ${JSON.stringify(server.stats())}`);
    });
  });
  afterAll(() => app.close());

  it('closes a long-polling connection that posts invalid JSON: the Close goes to the next poll, then 204', async () => {
    const url = await longPoll();
    expect((await request(url, { method: 'POST', body: `{"type":1,${RS}` })).status).toBe(200);
    const close = (await request(url)).body.toString();
    expect(close.startsWith('{"type":7,"error":"Connection closed with an error. InvalidDataException: Error reading JSON.')).toBe(true);
    expect((await request(url)).status).toBe(204);
  });

  it('closes a long-polling connection whose message is over the limit', async () => {
    const url = await longPoll();
    const big = `{"type":1,"target":"Echo","arguments":["${'x'.repeat(1100)}"]}${RS}`;
    await request(url, { method: 'POST', body: big });
    expect((await request(url)).body.toString()).toBe(CLOSE_WITH(TOO_LARGE));
    expect((await request(url)).status).toBe(204);
  });

  it('closes an event stream whose connection posts a message over the limit', async () => {
    const { connectionToken } = await negotiate(hub());
    const url = `${hub()}?id=${connectionToken}`;
    const stream = await EventStream.open(url);
    await stream.until((text) => text === ':\r\n');
    await request(url, { method: 'POST', body: JSON_HANDSHAKE });
    await request(url, { method: 'POST', body: `{"type":1,"target":"Echo","arguments":["${'y'.repeat(1100)}"]}${RS}` });
    await stream.end();
    expect(stream.text.endsWith(`data: ${CLOSE_WITH(TOO_LARGE)}\r\n\r\n`)).toBe(true);
  });

  it('refuses MessagePack on an event stream with the transfer-format handshake error', async () => {
    const { connectionToken } = await negotiate(hub());
    const url = `${hub()}?id=${connectionToken}`;
    const stream = await EventStream.open(url);
    await stream.until((text) => text === ':\r\n');
    await request(url, { method: 'POST', body: MSGPACK_HANDSHAKE });
    await stream.end();
    expect(stream.text).toBe(
      `:\r\ndata: {"error":"Cannot use the 'messagepack' protocol on the current transport. The transport does not support 'Binary' transfer format."}${RS}\r\n\r\n`,
    );
  });

  it('carries MessagePack over long polling in binary bodies', async () => {
    const url = await longPoll(MSGPACK_HANDSHAKE);
    await request(url, { method: 'POST', body: framed(encode([1, {}, '1', 'Add', [1, 2]])) });
    const poll = await request(url);
    expect(poll.headers['content-type']).toBe('application/octet-stream');
    expect(poll.body).toEqual(framed(encode([3, {}, '1', 3, 3])));
    await request(url, { method: 'DELETE' });
  });

  it('closes a MessagePack connection whose length prefix lies about a record over the limit', async () => {
    const url = await longPoll(MSGPACK_HANDSHAKE);
    // Declares 5,000 bytes; the first POST leaves the record incomplete, the second passes the limit.
    await request(url, { method: 'POST', body: Buffer.concat([varint(5000), Buffer.alloc(100)]) });
    await request(url, { method: 'POST', body: Buffer.alloc(1000) });
    const close = (await request(url)).body;
    expect(close.subarray(0, 1)[0]).toBeGreaterThan(0); // a framed binary Close
    expect(close.toString('latin1')).toContain(TOO_LARGE);
    expect((await request(url)).status).toBe(204);
  });

  it('closes a MessagePack connection that sends a truncated record', async () => {
    const url = await longPoll(MSGPACK_HANDSHAKE);
    const whole = encode([1, {}, '1', 'Add', [1, 2]]);
    // The prefix matches the bytes sent, but the bytes stop inside the array.
    await request(url, { method: 'POST', body: framed(whole.subarray(0, whole.length - 3)) });
    const close = (await request(url)).body;
    expect(close.toString('latin1')).toContain('Connection closed with an error.');
    expect((await request(url)).status).toBe(204);
  });

  it('keeps bytes posted before the first poll, and starts with them', async () => {
    const { connectionToken } = await negotiate(hub());
    const url = `${hub()}?id=${connectionToken}`;
    expect((await request(url, { method: 'POST', body: JSON_HANDSHAKE })).status).toBe(200);
    expect((await request(url)).status).toBe(200); // the first poll
    expect((await request(url)).body.toString()).toBe(`{}${RS}`);
    await request(url, { method: 'DELETE' });
  });

  it('answers 413 to bytes over the limit posted before the transport started', async () => {
    const { connectionToken } = await negotiate(hub());
    const url = `${hub()}?id=${connectionToken}`;
    expect((await request(url, { method: 'POST', body: 'z'.repeat(2000) })).status).toBe(413);
    await request(url); // the first poll starts it; the handshake never comes from this client
    await request(url, { method: 'DELETE' });
  });

  it('answers every method but GET, POST and DELETE on the hub path with 405, and DELETE without an id with 400', async () => {
    for (const method of ['PUT', 'PATCH']) {
      expect((await request(hub(), { method })).status).toBe(405);
    }
    const missing = await request(hub(), { method: 'DELETE' });
    expect([missing.status, missing.body.toString()]).toEqual([400, 'Connection ID required']);
    const unknown = await request(`${hub()}?id=nope`, { method: 'DELETE' });
    expect([unknown.status, unknown.body.toString()]).toEqual([404, 'No Connection with that ID']);
  });
});
