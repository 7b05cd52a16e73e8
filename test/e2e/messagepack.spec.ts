import { HttpTransportType, HubConnection, HubConnectionBuilder, LogLevel, NullLogger } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { JsonOnlyHub, MsgpackOnlyHub } from '../fixtures/msgpack-protocol-choice.hubs.js';
import { MsgpackTypesHub } from '../fixtures/msgpack-types.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { buildMsgpackClient, closed, connect, nextCall, stopAll } from '../support/client.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const HUB = '/hubs/msgpack';
const JSON_ONLY = '/hubs/msgpack/json-only';
const MSGPACK_ONLY = '/hubs/msgpack/msgpack-only';
const CLOSED_WITH_ERROR = 'Connection closed with an error.';
const TOO_LARGE = `${CLOSED_WITH_ERROR} InvalidDataException: The maximum message size of 1024B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.`;
/** The official client's own encoder and parser: what this server writes must satisfy it. */
const official = new MessagePackHubProtocol();
const hex = (text: string) => Buffer.from(text.replace(/[\s|]+/g, ''), 'hex');

const clients = new Set<HubConnection>();

/** An official client using the official MessagePack protocol over WebSockets. */
async function connectMsgpack(url: string): Promise<HubConnection> {
  const connection = buildMsgpackClient(url);
  clients.add(connection);
  await connection.start();
  return connection;
}

/** Encodes messages with the official client's encoder. */
function encode(...messages: object[]): Buffer {
  return Buffer.concat(messages.map((message) => Buffer.from(official.writeMessage(message as never))));
}

/** Parses a binary frame with the official client's parser (which requires whole records). */
function decode(frame: { data: Buffer; binary: boolean }): any[] {
  expect(frame.binary).toBe(true);
  const data = frame.data;
  return official.parseMessages(data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer, NullLogger.instance);
}

/** A raw socket that completed a MessagePack handshake; the response `{}` RS came in a binary frame. */
async function rawMsgpack(path = HUB): Promise<RawSocket> {
  const raw = await RawSocket.open(app.url(path));
  raw.sendText(`{"protocol":"messagepack","version":1}${RS}`);
  const response = await raw.nextFrame();
  expect({ hex: response.data.toString('hex'), binary: response.binary }).toEqual({ hex: '7b7d1e', binary: true });
  return raw;
}

/** Expects exactly one more frame, a binary Close with `error` that allows reconnecting, then close code 1000. */
async function expectClose(raw: RawSocket, error: string): Promise<void> {
  const frame = await raw.nextFrame();
  expect(decode(frame)).toEqual([{ type: 7, error, allowReconnect: true }]);
  await expect(raw.closed()).resolves.toBe(1000);
  expect(raw.frames[raw.frames.length - 1]).toBe(frame);
}

/** A framed Echo invocation (as the JS client writes it) whose bytes, prefix included, number exactly `size`. */
function echoRecordOfSize(size: number): { bytes: Buffer; value: string } {
  let value = '';
  for (let i = 0; i < 5; i++) {
    const bytes = encode({ type: 1, invocationId: '1', target: 'Echo', arguments: [value] });
    if (bytes.length === size) return { bytes, value };
    value = 'y'.repeat(value.length + size - bytes.length);
  }
  throw new Error(`no record of ${size} bytes`);
}

let app: TestApp;
let server: SignalRServer;
/** A MessagePack client that stays connected through every bad case. */
let bystander: HubConnection;

beforeAll(async () => {
  app = await startApp({ imports: [SignalRModule.forRoot()], providers: [MsgpackTypesHub, JsonOnlyHub, MsgpackOnlyHub] });
  server = app.app.get(SignalRServer);
  bystander = await connectMsgpack(app.url(HUB));
});
afterAll(async () => {
  await Promise.all([...clients].map((connection) => connection.stop()));
  await stopAll();
  await app.close();
});

/** The bystander still works, and a fresh MessagePack client connects and is served. */
async function expectHubServing(): Promise<void> {
  await expect(bystander.invoke('Echo', 'still here')).resolves.toBe('still here');
  const fresh = await connectMsgpack(app.url(HUB));
  await expect(fresh.invoke('Echo', 42)).resolves.toBe(42);
  await fresh.stop();
}

describe('MessagePack with the official client', () => {
  it('invokes and receives results of every plain kind; a void method completes with null', async () => {
    const value = { text: 'héllo', n: -1.5, big: 2 ** 40, list: [true, null, 'x'], nested: { ok: 1 } };
    await expect(bystander.invoke('Echo', value)).resolves.toEqual(value);
    await expect(bystander.invoke('Nothing')).resolves.toBeNull();
  });

  it('sends non-blocking and receives the server call, with a Date and bytes made on the server', async () => {
    const call = nextCall(bystander, 'Message');
    await bystander.send('Send', 'hi');
    const [text, when, bytes] = await call;
    expect(text).toBe('hi');
    expect(when).toBeInstanceOf(Date);
    expect((when as Date).toISOString()).toBe('2000-01-01T00:00:00.123Z');
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Array.from(bytes as Uint8Array)).toEqual([1, 2, 3]);
  });

  it('reports a hub error with its text', async () => {
    await expect(bystander.invoke('Fail')).rejects.toThrow("An unexpected error occurred invoking 'Fail' on the server. HubException: nope");
  });

  it('keeps Date and Uint8Array types for arguments and results', async () => {
    const when = new Date('2024-02-29T23:59:59.999Z');
    const bytes = new Uint8Array([0, 255, 16]);
    await expect(bystander.invoke('TypeOf', when, bytes)).resolves.toBe('Date 2024-02-29T23:59:59.999Z | Buffer 00ff10');
    const echoedDate = await bystander.invoke('Echo', when);
    expect(echoedDate).toBeInstanceOf(Date);
    expect(echoedDate.getTime()).toBe(when.getTime());
    const echoedBytes = await bystander.invoke('Echo', bytes);
    expect(echoedBytes).toBeInstanceOf(Uint8Array);
    expect(Array.from(echoedBytes)).toEqual([0, 255, 16]);
  });

  it('serializes a broadcast per protocol: Date and bytes for MessagePack, ISO and base64 strings for JSON', async () => {
    const jsonClient = await connect(app.url(HUB));
    const forJson = nextCall(jsonClient, 'Broadcast');
    const forMsgpack = nextCall(bystander, 'Broadcast');
    await jsonClient.invoke('Broadcast');
    expect(await forJson).toEqual(['2000-01-01T00:00:00.000Z', 'aGk=']);
    const [when, bytes] = await forMsgpack;
    expect((when as Date).toISOString()).toBe('2000-01-01T00:00:00.000Z');
    expect(Buffer.from(bytes as Uint8Array).toString()).toBe('hi');
    await jsonClient.stop();
  });

  it('closes a client whose argument is over maximumReceiveMessageSize, with the error', async () => {
    const client = await connectMsgpack(app.url(HUB));
    const end = closed(client);
    const expected = `Server returned an error on close: ${TOO_LARGE}`;
    await expect(client.invoke('Echo', 'z'.repeat(2000))).rejects.toThrow(expected);
    expect(String(await end)).toBe(`Error: ${expected}`);
    await expectHubServing();
  });
});

describe('protocol choice per hub', () => {
  it('a hub offering only JSON refuses MessagePack in the handshake, as text', async () => {
    const client = new HubConnectionBuilder()
      .withUrl(app.url(JSON_ONLY), { transport: HttpTransportType.WebSockets })
      .withHubProtocol(new MessagePackHubProtocol())
      .configureLogging(LogLevel.None)
      .build();
    await expect(client.start()).rejects.toThrow("Server returned handshake error: The protocol 'messagepack' is not supported.");

    const raw = await RawSocket.open(app.url(JSON_ONLY));
    raw.sendText(`{"protocol":"messagepack","version":1}${RS}`);
    const frame = await raw.nextFrame();
    expect({ text: frame.data.toString(), binary: frame.binary }).toEqual({
      text: `{"error":"The protocol 'messagepack' is not supported."}${RS}`,
      binary: false,
    });
    await expect(raw.closed()).resolves.toBe(1000);
    await expect((await connect(app.url(JSON_ONLY))).invoke('Echo', 'json works')).resolves.toBe('json works');
  });

  it('a hub offering only MessagePack refuses JSON, and serves MessagePack', async () => {
    await expect(connect(app.url(MSGPACK_ONLY))).rejects.toThrow("Server returned handshake error: The protocol 'json' is not supported.");
    const client = await connectMsgpack(app.url(MSGPACK_ONLY));
    await expect(client.invoke('Echo', new Uint8Array([7]))).resolves.toEqual(new Uint8Array([7]));
  });
});

describe('MessagePack on raw frames', () => {
  it('answers the handshake and an invocation in binary frames, byte for byte', async () => {
    const raw = await rawMsgpack();
    // [1, {}, "1", "Echo", ["hi"]]: the JS client's 5-element invocation
    raw.sendBinary(hex('0e | 95 01 80 a1 31 a4 4563686f 91 a2 6869'));
    const frame = await raw.nextFrame();
    // [3, {}, "1", 3, "hi"]: a Completion with a value
    expect({ hex: frame.data.toString('hex'), binary: frame.binary }).toEqual({ hex: '09950380a13103a26869', binary: true });
    raw.close();
  });

  it('sends nothing back for an invocation with an empty id (non-blocking)', async () => {
    const raw = await rawMsgpack();
    raw.sendBinary(encode({ type: 1, invocationId: '', target: 'Send', arguments: ['quiet'] }, { type: 1, invocationId: '2', target: 'Echo', arguments: [2] }));
    const messages: any[] = [];
    while (messages.length < 2) messages.push(...decode(await raw.nextFrame()).filter((message) => message.type !== 6));
    expect(messages).toEqual([
      { type: 1, headers: {}, target: 'Message', arguments: ['quiet', new Date('2000-01-01T00:00:00.123Z'), new Uint8Array([1, 2, 3])], streamIds: [] },
      { type: 3, headers: {}, invocationId: '2', result: 2, error: undefined },
    ]);
    raw.close();
  });

  it('skips an unknown message type and keeps going', async () => {
    const raw = await rawMsgpack();
    raw.sendBinary(Buffer.concat([hex('03 92 2a c0'), encode({ type: 1, invocationId: '3', target: 'Echo', arguments: ['after'] })]));
    expect(decode(await raw.nextFrame())).toEqual([{ type: 3, headers: {}, invocationId: '3', result: 'after', error: undefined }]);
    raw.close();
  });

  it('joins a record split inside its length prefix and its body over three frames', async () => {
    const raw = await rawMsgpack();
    const value = 'v'.repeat(300); // a 2-byte prefix
    const bytes = encode({ type: 1, invocationId: '7', target: 'Echo', arguments: [value] });
    raw.sendBinary(bytes.subarray(0, 1));
    raw.sendBinary(bytes.subarray(1, 100));
    raw.sendBinary(bytes.subarray(100));
    expect(decode(await raw.nextFrame())).toEqual([{ type: 3, headers: {}, invocationId: '7', result: value, error: undefined }]);
    raw.close();
    await expectHubServing();
  });

  it('accepts a record whose bytes, length prefix included, are exactly the limit', async () => {
    const raw = await rawMsgpack();
    const { bytes, value } = echoRecordOfSize(1024);
    raw.sendBinary(bytes);
    expect(decode(await raw.nextFrame())).toEqual([{ type: 3, headers: {}, invocationId: '1', result: value, error: undefined }]);
    raw.close();
  });

  it('closes on a record one byte over the limit once its prefix is counted (as ASP.NET Core)', async () => {
    const raw = await rawMsgpack();
    raw.sendBinary(echoRecordOfSize(1025).bytes);
    await expectClose(raw, TOO_LARGE);
    await expectHubServing();
  });

  it('closes on a prefix that declares more than the limit while more bytes follow', async () => {
    const raw = await rawMsgpack();
    // 5000 = 0x1388 → 88 27; 1100 bytes follow, more than the limit, and still no complete record
    raw.sendBinary(Buffer.concat([hex('88 27'), Buffer.alloc(600, 0x91)]));
    raw.sendBinary(Buffer.alloc(500, 0x91));
    await expectClose(raw, TOO_LARGE);
    await expectHubServing();
  });

  it('closes on a prefix that declares fewer bytes than the body', async () => {
    const raw = await rawMsgpack();
    const bytes = encode({ type: 1, invocationId: '1', target: 'Echo', arguments: ['hi'] });
    bytes[0] -= 1; // the record now ends one byte early, inside 'hi'; its last byte is read as the next prefix
    raw.sendBinary(bytes);
    await expectClose(
      raw,
      `${CLOSED_WITH_ERROR} InvalidDataException: Error reading MessagePack. A string of 2 bytes cannot fit in the 1 byte(s) left in the record.`,
    );
    await expectHubServing();
  });

  it('closes on garbage after a good exchange', async () => {
    const raw = await rawMsgpack();
    raw.sendBinary(encode({ type: 1, invocationId: '1', target: 'Echo', arguments: [1] }));
    expect(decode(await raw.nextFrame())).toEqual([{ type: 3, headers: {}, invocationId: '1', result: 1, error: undefined }]);
    raw.sendBinary(hex('03 c1 c1 c1'));
    await expectClose(raw, `${CLOSED_WITH_ERROR} InvalidDataException: Error reading MessagePack. Unrecognized type byte: 0xc1`);
    await expectHubServing();
  });

  it.each<[string, string, string]>([
    ['a VarInt longer than 5 bytes', 'ff ff ff ff ff 01', 'Cannot read message size.'],
    ['a length over 2 GB', 'ff ff ff ff 08', 'Messages bigger than 2GB are not supported.'],
    ['an Invocation of 4 elements', '06 94 01 80 c0 a1 54', 'Invalid payload for Invocation message.'],
    ['an empty header key', '0a 95 01 81 a0 a1 76 c0 a1 54 90', 'Null or empty key in header.'],
    ['an unknown result kind', '07 95 03 80 a1 31 07 c0', 'Invalid invocation result kind.'],
  ])('closes on %s, with the detail', async (_name, bytes, detail) => {
    const raw = await rawMsgpack();
    raw.sendBinary(hex(bytes));
    await expectClose(raw, `${CLOSED_WITH_ERROR} InvalidDataException: ${detail}`);
    await expectHubServing();
  });

  it('leaves no connection behind once every client has closed', async () => {
    await Promise.all([...clients].map((connection) => connection.stop()));
    clients.clear();
    await stopAll();
    await waitUntil(() => server.stats().registered === 0 && server.stats().running === 0);
    expect(server.stats()).toEqual({ registered: 0, running: 0 });
  });
});
