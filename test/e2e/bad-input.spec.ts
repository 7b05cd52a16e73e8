import { randomBytes } from 'crypto';
import type { HubConnection } from '@microsoft/signalr';
import { SignalRModule } from '../../src/index.js';
import { DetailedInputHub, StrictInputHub } from '../fixtures/robust-input.hubs.js';
import { startApp, TestApp } from '../support/app.js';
import { closed, connect, stopAll } from '../support/client.js';
import { RawSocket, RS } from '../support/raw-socket.js';

const STRICT = '/hubs/robust/strict';
const DETAILED = '/hubs/robust/detailed';
const CLOSE_WITH_ERROR = '{"type":7,"error":"Connection closed with an error.","allowReconnect":true}' + RS;
const TOO_LARGE =
  'InvalidDataException: The maximum message size of 1024B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.';
const HANDSHAKE_CANCELED = '{"error":"Handshake was canceled."}' + RS;

function closeWithDetail(detail: string): string {
  return JSON.stringify({ type: 7, error: `Connection closed with an error. ${detail}`, allowReconnect: true }) + RS;
}

/** The message V8 gives for `text`, as the server's JSON.parse sees it. */
function jsonErrorOf(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} is valid JSON`);
}

/** Expects exactly one more frame, `text`, then the WebSocket close with 1000 and nothing after. */
async function expectLastFrame(raw: RawSocket, text: string): Promise<void> {
  const frame = await raw.nextFrame();
  expect({ text: frame.data.toString(), binary: frame.binary }).toEqual({ text, binary: false });
  await expect(raw.closed()).resolves.toBe(1000);
  expect(raw.frames[raw.frames.length - 1]).toBe(frame);
}

/** Bytes that hold no record separator, so they never end a record. */
function bytesWithoutRS(length: number): Buffer {
  const bytes = randomBytes(length);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x1e) bytes[i] = 0x1f;
  return bytes;
}

describe('bad input', () => {
  let app: TestApp;
  /** Official clients that stay connected through every case, one per hub. */
  const bystanders = new Map<string, HubConnection>();

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [StrictInputHub, DetailedInputHub] });
    for (const path of [STRICT, DETAILED]) bystanders.set(path, await connect(app.url(path)));
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  /** The bystander on `path` still works, and the server still accepts and serves a new connection. */
  async function expectHubServing(path: string): Promise<void> {
    await expect(bystanders.get(path)!.invoke('Echo', 'still here')).resolves.toBe('still here');
    const fresh = await connect(app.url(path));
    await expect(fresh.invoke('Echo', 42)).resolves.toBe(42);
    await fresh.stop();
  }

  describe('malformed records', () => {
    it('closes on invalid JSON with the generic error', async () => {
      const raw = await RawSocket.handshaken(app.url(STRICT));
      raw.sendText(`{"type":1,${RS}`);
      await expectLastFrame(raw, CLOSE_WITH_ERROR);
      await expectHubServing(STRICT);
    });

    it('appends the InvalidDataException detail with enableDetailedErrors', async () => {
      const raw = await RawSocket.handshaken(app.url(DETAILED));
      raw.sendText(`{"type":1,${RS}`);
      await expectLastFrame(raw, closeWithDetail(`InvalidDataException: Error reading JSON. ${jsonErrorOf('{"type":1,')}`));
      await expectHubServing(DETAILED);
    });

    const cases: Array<[string, string, string]> = [
      ['JSON that is not an object', '[1,2]', 'Unexpected JSON Token Type. Expected a JSON Object.'],
      ['a JSON string', '"ping"', 'Unexpected JSON Token Type. Expected a JSON Object.'],
      ['type missing', '{"target":"Echo","arguments":[]}', "Missing required property 'type'."],
      ['type a string', '{"type":"1","target":"Echo","arguments":[]}', "Expected 'type' to be of type Number."],
      ['an Invocation whose target is a number', '{"type":1,"invocationId":"1","target":5,"arguments":[]}', "Expected 'target' to be of type String."],
      [
        'an Invocation whose arguments are not an array',
        '{"type":1,"invocationId":"1","target":"Echo","arguments":"x"}',
        "Expected 'arguments' to be of type Array.",
      ],
      [
        'a Completion with both result and error',
        '{"type":3,"invocationId":"1","result":1,"error":"e"}',
        "The 'error' and 'result' properties are mutually exclusive.",
      ],
    ];

    it.each(cases)('closes on %s, with the exact detail', async (_name, record, detail) => {
      const raw = await RawSocket.handshaken(app.url(DETAILED));
      raw.sendText(record + RS);
      await expectLastFrame(raw, closeWithDetail(`InvalidDataException: ${detail}`));
      await expectHubServing(DETAILED);
    });

    it.each(cases)('closes on %s, without detail by default', async (_name, record) => {
      const raw = await RawSocket.handshaken(app.url(STRICT));
      raw.sendText(record + RS);
      await expectLastFrame(raw, CLOSE_WITH_ERROR);
      await expectHubServing(STRICT);
    });
  });

  describe('unknown message types', () => {
    it('skips {"type":99} and keeps the connection working', async () => {
      const raw = await RawSocket.handshaken(app.url(STRICT));
      raw.send({ type: 99 });
      raw.send({ type: 99, target: 'Echo', arguments: [1] }, { type: 1, invocationId: '1', target: 'Echo', arguments: ['after'] });
      expect(await raw.nextMessage()).toEqual({ type: 3, invocationId: '1', result: 'after' });
      expect(raw.closeCode).toBeUndefined();
      raw.close();
      await expectHubServing(STRICT);
    });
  });

  describe('message size and framing', () => {
    it('closes on a binary frame of garbage larger than the limit', async () => {
      const raw = await RawSocket.handshaken(app.url(STRICT));
      raw.sendBinary(bytesWithoutRS(4096));
      await expectLastFrame(raw, CLOSE_WITH_ERROR);
      await expectHubServing(STRICT);
    });

    it('closes on a record over maximumReceiveMessageSize, with the size detail', async () => {
      const raw = await RawSocket.handshaken(app.url(DETAILED));
      raw.send({ type: 1, invocationId: '1', target: 'Echo', arguments: ['x'.repeat(1100)] });
      await expectLastFrame(raw, closeWithDetail(TOO_LARGE));
      await expectHubServing(DETAILED);
    });

    it('closes on a message over the limit that arrives in small frames', async () => {
      const raw = await RawSocket.handshaken(app.url(DETAILED));
      const record = JSON.stringify({ type: 1, invocationId: '1', target: 'Echo', arguments: ['x'.repeat(1100)] }) + RS;
      for (let i = 0; i < record.length; i += 300) raw.sendText(record.slice(i, i + 300));
      await expectLastFrame(raw, closeWithDetail(TOO_LARGE));
      await expectHubServing(DETAILED);
    });

    /** An Echo invocation record whose bytes, RS included, number exactly `size`. */
    function echoRecordOfSize(size: number): { record: string; value: string } {
      const envelope = JSON.stringify({ type: 1, invocationId: '1', target: 'Echo', arguments: [''] }) + RS;
      const value = 'y'.repeat(size - envelope.length);
      return { record: JSON.stringify({ type: 1, invocationId: '1', target: 'Echo', arguments: [value] }) + RS, value };
    }

    it('accepts a record whose bytes, RS included, are exactly the limit', async () => {
      const raw = await RawSocket.handshaken(app.url(DETAILED));
      const { record, value } = echoRecordOfSize(1024);
      expect(Buffer.byteLength(record)).toBe(1024);
      raw.sendText(record);
      expect(await raw.nextMessage()).toEqual({ type: 3, invocationId: '1', result: value });
      raw.close();
      await expectHubServing(DETAILED);
    });

    it('closes on a record one byte over the limit once its RS is counted (as ASP.NET Core)', async () => {
      const raw = await RawSocket.handshaken(app.url(DETAILED));
      raw.sendText(echoRecordOfSize(1025).record);
      await expectLastFrame(raw, closeWithDetail(TOO_LARGE));
      await expectHubServing(DETAILED);
    });

    it('closes an official client that invokes with an oversized argument', async () => {
      const client = await connect(app.url(STRICT));
      const end = closed(client);
      const expected = 'Server returned an error on close: Connection closed with an error.';
      await expect(client.invoke('Echo', 'z'.repeat(2000))).rejects.toThrow(expected);
      expect(String(await end)).toBe(`Error: ${expected}`);
      await expectHubServing(STRICT);
    });

    it('joins a record split over several frames when it is under the limit', async () => {
      const raw = await RawSocket.handshaken(app.url(STRICT));
      const value = 'v'.repeat(800);
      const record = JSON.stringify({ type: 1, invocationId: '7', target: 'Echo', arguments: [value] }) + RS;
      for (let i = 0; i < record.length; i += 250) raw.sendText(record.slice(i, i + 250));
      expect(await raw.nextMessage()).toEqual({ type: 3, invocationId: '7', result: value });
      raw.close();
      await expectHubServing(STRICT);
    });

    it('dispatches several records of one frame in order', async () => {
      const raw = await RawSocket.handshaken(app.url(STRICT));
      const ids = ['1', '2', '3', '4', '5'];
      raw.send(...ids.map((id) => ({ type: 1, invocationId: id, target: 'Echo', arguments: [`n${id}`] })));
      expect(await raw.nextRecords(ids.length)).toEqual(ids.map((id) => ({ type: 3, invocationId: id, result: `n${id}` })));
      raw.close();
      await expectHubServing(STRICT);
    });

    it('ends a record at its RS and starts the next one in the same frame', async () => {
      const raw = await RawSocket.handshaken(app.url(STRICT));
      const first = JSON.stringify({ type: 1, invocationId: 'a', target: 'Echo', arguments: ['A'] }) + RS;
      const second = JSON.stringify({ type: 1, invocationId: 'b', target: 'Echo', arguments: ['B'] }) + RS;
      raw.sendText(first + second.slice(0, 10));
      raw.sendText(second.slice(10));
      expect(await raw.nextRecords(2)).toEqual([
        { type: 3, invocationId: 'a', result: 'A' },
        { type: 3, invocationId: 'b', result: 'B' },
      ]);
      raw.close();
      await expectHubServing(STRICT);
    });
  });

  describe('handshake', () => {
    it('cancels a handshake that never comes after handshakeTimeout', async () => {
      const raw = await RawSocket.open(app.url(STRICT));
      const opened = Date.now();
      await expectLastFrame(raw, HANDSHAKE_CANCELED);
      expect(Date.now() - opened).toBeGreaterThanOrEqual(180);
      await expectHubServing(STRICT);
    });

    it.each([
      ['one frame', [1100]],
      ['several frames', [600, 600]],
    ])('cancels a handshake over the limit without RS, in %s, at once', async (_name, sizes) => {
      // This hub's handshake timeout is 15 s: an answer within a second is the size limit's.
      const raw = await RawSocket.open(app.url(DETAILED));
      const started = Date.now();
      raw.sendText('{"protocol":"json",');
      for (const size of sizes) raw.sendText(' '.repeat(size));
      await expectLastFrame(raw, HANDSHAKE_CANCELED);
      expect(Date.now() - started).toBeLessThan(1000);
      await expectHubServing(DETAILED);
    });

    /** A handshake request padded so its bytes, RS included, number exactly `size`. */
    function handshakeOfSize(size: number): string {
      const envelope = `{"protocol":"json","version":1,"pad":""}${RS}`;
      return `{"protocol":"json","version":1,"pad":"${'p'.repeat(size - envelope.length)}"}${RS}`;
    }

    it('accepts a handshake whose bytes, RS included, are exactly the limit', async () => {
      const raw = await RawSocket.open(app.url(DETAILED));
      raw.sendText(handshakeOfSize(1024));
      expect((await raw.nextFrame()).data.toString()).toBe(`{}${RS}`);
      raw.close();
    });

    it('cancels a handshake one byte over the limit once its RS is counted', async () => {
      const raw = await RawSocket.open(app.url(DETAILED));
      raw.sendText(handshakeOfSize(1025));
      await expectLastFrame(raw, HANDSHAKE_CANCELED);
      await expectHubServing(DETAILED);
    });
  });

  describe('ends of connections', () => {
    it('answers a client Close with {"type":7} and closes 1000; onDisconnected gets no error', async () => {
      const raw = await RawSocket.handshaken(app.url(STRICT));
      raw.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
      const { result: id } = await raw.nextMessage();
      raw.send({ type: 7 });
      await expectLastFrame(raw, `{"type":7}${RS}`);
      await expect(app.app.get(StrictInputHub).lifecycle.disconnected(id)).resolves.toBeUndefined();
      await expectHubServing(STRICT);
    });

    it('gives onDisconnected an error for a socket that drops without a close handshake', async () => {
      const raw = await RawSocket.handshaken(app.url(STRICT));
      raw.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
      const { result: id } = await raw.nextMessage();
      raw.socket.terminate();
      const error = await app.app.get(StrictInputHub).lifecycle.disconnected(id);
      expect(error).toBeInstanceOf(Error);
      expect(`${error!.name}: ${error!.message}`).toBe(
        'WebSocketException: The remote party closed the WebSocket connection without completing the close handshake.',
      );
      await expectHubServing(STRICT);
    });

    it('gives onDisconnected undefined when an official client stops', async () => {
      const client = await connect(app.url(STRICT));
      const id = client.connectionId!;
      await client.stop();
      await expect(app.app.get(StrictInputHub).lifecycle.disconnected(id)).resolves.toBeUndefined();
      await expectHubServing(STRICT);
    });
  });
});
