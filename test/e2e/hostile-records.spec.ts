import { HubConnection, NullLogger } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { SignalRModule } from '../../src/index.js';
import { writeLengthPrefix } from '../../src/protocol/binary-message-format.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { HostileDetailedHub, HostileStrictHub } from '../fixtures/hostile-records.hubs.js';
import { startApp, TestApp } from '../support/app.js';
import { buildMsgpackClient, connect, stopAll } from '../support/client.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

/*
 * Records whose headers claim far more than they hold (finding 1 of issue 13): before the check, the
 * 6-byte array32 record made the decoder allocate 33 million slots (~250 MB, 150-430 ms) before failing.
 * Each is refused with the check's own text, which proves the refusal came before the decoder ran.
 */

const STRICT = '/hubs/hostile/strict';
const DETAILED = '/hubs/hostile/detailed';
const CLOSED_WITH_ERROR = 'Connection closed with an error.';
const TOO_DEEP = 'InvalidDataException: The message exceeds the maximum nesting depth of 500.';
const official = new MessagePackHubProtocol();
const hex = (text: string) => Buffer.from(text.replace(/[\s|]+/g, ''), 'hex');
/** A record: VarInt length prefix and body. */
const framed = (body: Buffer) => Buffer.concat([writeLengthPrefix(body.length), body]);

let app: TestApp;
let server: SignalRServer;
/** Official clients that stay connected through every case: JSON and MessagePack on both hubs. */
const bystanders: Array<{ path: string; connection: HubConnection }> = [];

async function connectMsgpack(url: string): Promise<HubConnection> {
  const connection = buildMsgpackClient(url);
  await connection.start();
  return connection;
}

beforeAll(async () => {
  app = await startApp({ imports: [SignalRModule.forRoot()], providers: [HostileStrictHub, HostileDetailedHub] });
  server = app.app.get(SignalRServer);
  for (const path of [STRICT, DETAILED]) {
    bystanders.push({ path, connection: await connect(app.url(path)) });
    bystanders.push({ path, connection: await connectMsgpack(app.url(path)) });
  }
});
afterAll(async () => {
  await Promise.all(bystanders.map(({ connection }) => connection.stop()));
  await stopAll();
  await app.close();
});

/** Every bystander still gets its echo, and a fresh client of each protocol is served. */
async function expectServing(): Promise<void> {
  for (const [index, { connection }] of bystanders.entries())
    await expect(connection.invoke('Echo', `still here ${index}`)).resolves.toBe(`still here ${index}`);
  const fresh = await connectMsgpack(app.url(DETAILED));
  await expect(fresh.invoke('Echo', [1, { a: 'b' }])).resolves.toEqual([1, { a: 'b' }]);
  await fresh.stop();
}

async function rawMsgpack(path: string): Promise<RawSocket> {
  const raw = await RawSocket.open(app.url(path));
  raw.sendText(`{"protocol":"messagepack","version":1}${RS}`);
  const response = await raw.nextFrame();
  expect(response.data.toString('hex')).toBe('7b7d1e');
  return raw;
}

/** Exactly one more frame, a binary Close with `error`, then the close code 1000 and nothing after. */
async function expectMsgpackClose(raw: RawSocket, error: string): Promise<void> {
  const frame = await raw.nextFrame();
  expect(frame.binary).toBe(true);
  const data = frame.data;
  const messages = official.parseMessages(data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer, NullLogger.instance);
  expect(messages).toEqual([{ type: 7, error, allowReconnect: true }]);
  await expect(raw.closed()).resolves.toBe(1000);
  expect(raw.frames[raw.frames.length - 1]).toBe(frame);
}

async function expectJsonClose(raw: RawSocket, error: string): Promise<void> {
  const frame = await raw.nextFrame();
  expect({ text: frame.data.toString(), binary: frame.binary }).toEqual({ text: JSON.stringify({ type: 7, error, allowReconnect: true }) + RS, binary: false });
  await expect(raw.closed()).resolves.toBe(1000);
  expect(raw.frames[raw.frames.length - 1]).toBe(frame);
}

describe('MessagePack records that claim more than they hold', () => {
  it.each<[string, Buffer, string]>([
    [
      'the 6-byte record: an array32 header claiming 33,554,431 items',
      hex('05 dd 01ffffff'),
      'An array of 33554431 items cannot fit in the 0 byte(s) left in the record.',
    ],
    ['a map32 header claiming 2^32-1 entries', hex('05 df ffffffff'), 'A map of 4294967295 entries cannot fit in the 0 byte(s) left in the record.'],
    ['a str32 header claiming 2 GB', hex('05 db 7fffffff'), 'A string of 2147483647 bytes cannot fit in the 0 byte(s) left in the record.'],
    ['a bin32 header claiming 2 GB', hex('05 c6 7fffffff'), 'A binary of 2147483647 bytes cannot fit in the 0 byte(s) left in the record.'],
    ['an ext32 header claiming 2 GB', hex('06 c9 7fffffff 01'), 'An extension of 2147483647 bytes cannot fit in the 0 byte(s) left in the record.'],
    [
      'an invocation whose argument array32 claims 33 million items',
      framed(hex('95 01 80 a1 31 a4 4563686f dd 01ffffff')),
      'An array of 33554431 items cannot fit in the 0 byte(s) left in the record.',
    ],
  ])('closes on %s with the check’s error', async (_name, bytes, detail) => {
    const raw = await rawMsgpack(DETAILED);
    raw.sendBinary(bytes);
    await expectMsgpackClose(raw, `${CLOSED_WITH_ERROR} InvalidDataException: Error reading MessagePack. ${detail}`);
    await expectServing();
  });

  it('closes on 100,000 nested fixarrays at level 500, before the decoder builds them', async () => {
    const raw = await rawMsgpack(DETAILED);
    // No value at the bottom: the decoder would build 100,000 arrays before finding the record short.
    raw.sendBinary(framed(Buffer.alloc(100_000, 0x91)));
    await expectMsgpackClose(raw, `${CLOSED_WITH_ERROR} ${TOO_DEEP}`);
    await expectServing();
  });

  it('closes with the generic error when detailed errors are off', async () => {
    const raw = await rawMsgpack(STRICT);
    raw.sendBinary(hex('05 dd 01ffffff'));
    await expectMsgpackClose(raw, CLOSED_WITH_ERROR);
    await expectServing();
  });

  it('refuses four attackers each sending the 6-byte record 200 times on one socket; the bystanders keep working', async () => {
    const attackers = await Promise.all([1, 2, 3, 4].map(() => rawMsgpack(DETAILED)));
    const burst = Buffer.concat(Array.from({ length: 200 }, () => hex('05 dd 01ffffff')));
    for (const raw of attackers) raw.sendBinary(burst);
    const detail = `${CLOSED_WITH_ERROR} InvalidDataException: Error reading MessagePack. An array of 33554431 items cannot fit in the 0 byte(s) left in the record.`;
    await Promise.all(attackers.map((raw) => expectMsgpackClose(raw, detail)));
    await expectServing();
  });
});

describe('JSON records nested too deep', () => {
  const invocationOf = (argument: string) => `{"type":1,"invocationId":"1","target":"Echo","arguments":[${argument}]}${RS}`;

  it.each<[string, string]>([
    ['100,000 nested arrays, closed', '['.repeat(100_000) + ']'.repeat(100_000)],
    ['100,000 nested arrays, never closed', '['.repeat(100_000)],
    ['100,000 nested objects', '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)],
  ])('closes on an argument of %s with the depth error', async (_name, argument) => {
    const raw = await RawSocket.handshaken(app.url(DETAILED));
    raw.sendText(invocationOf(argument));
    await expectJsonClose(raw, `${CLOSED_WITH_ERROR} ${TOO_DEEP}`);
    await expectServing();
  });

  it('closes with the generic error when detailed errors are off', async () => {
    const raw = await RawSocket.handshaken(app.url(STRICT));
    raw.sendText(invocationOf('['.repeat(100_000)));
    await expectJsonClose(raw, CLOSED_WITH_ERROR);
    await expectServing();
  });

  it('still serves an argument nested 499 levels deep in the record (the deepest allowed)', async () => {
    const raw = await RawSocket.handshaken(app.url(DETAILED));
    // record level 0, arguments level 1, then 498 arrays: the innermost at level 499
    raw.sendText(invocationOf('['.repeat(498) + ']'.repeat(498)));
    const [completion] = await raw.nextRecords(1);
    expect(completion.invocationId).toBe('1');
    expect(JSON.stringify(completion.result)).toBe('['.repeat(498) + ']'.repeat(498));
    raw.close();
    await raw.closed();
  });
});

it('leaves no connection behind once every client has closed', async () => {
  await Promise.all(bystanders.map(({ connection }) => connection.stop()));
  bystanders.length = 0;
  await stopAll();
  await waitUntil(() => server.stats().registered === 0 && server.stats().running === 0);
  expect(server.stats()).toEqual({ registered: 0, running: 0 });
});
