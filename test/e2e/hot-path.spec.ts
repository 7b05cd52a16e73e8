import { NullLogger } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { SignalRModule } from '../../src/index.js';
import { JsonHubProtocol } from '../../src/protocol/json-hub-protocol.js';
import { BurstHub } from '../fixtures/burst.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { parseRecords, RawSocket, RS } from '../support/raw-socket.js';

describe('hot path', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [BurstHub] });
  });
  afterAll(() => app.close());

  it('sends everything queued for a connection in one tick as one WebSocket frame', async () => {
    const raw = await RawSocket.handshaken(app.url('/hubs/burst'));
    raw.send({ type: 1, invocationId: '1', target: 'Burst', arguments: [50] });
    const frame = await raw.nextFrame();
    expect(frame.binary).toBe(false);
    const records = parseRecords(frame.data.toString());
    expect(records).toHaveLength(51);
    expect(records.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => ({ type: 1, target: 'item', arguments: [i] })));
    expect(records[50]).toEqual({ type: 3, invocationId: '1', result: 50 });
    raw.close();
  });

  it('serializes a broadcast once and hands every recipient the same bytes', async () => {
    const sockets = await Promise.all(Array.from({ length: 5 }, () => RawSocket.handshaken(app.url('/hubs/burst'))));
    const writes = jest.spyOn(JsonHubProtocol.prototype, 'writeMessage');
    try {
      sockets[0].send({ type: 1, target: 'Broadcast', arguments: ['same bytes for all'] });
      const frames = await Promise.all(sockets.map((socket) => socket.nextFrame()));
      const expected = `{"type":1,"target":"news","arguments":["same bytes for all"]}\u001e`;
      for (const frame of frames) expect(frame.data.toString()).toBe(expected);
      expect(writes).toHaveBeenCalledTimes(1);
    } finally {
      writes.mockRestore();
      for (const socket of sockets) socket.close();
    }
  });

  it('writes one frame per broadcast for all of its recipients: exact text and binary frames at every length encoding', async () => {
    const json = await Promise.all(Array.from({ length: 3 }, () => RawSocket.handshaken(app.url('/hubs/burst'))));
    const msgpack = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const socket = await RawSocket.open(app.url('/hubs/burst'));
        socket.sendText(`{"protocol":"messagepack","version":1}${RS}`);
        expect((await socket.nextFrame()).data.toString()).toBe(`{}${RS}`);
        return socket;
      }),
    );
    const reader = new MessagePackHubProtocol();
    try {
      // 7-bit, 16-bit and 64-bit payload lengths (RFC 6455 5.2), each to every recipient.
      for (const size of [20, 300, 70_000]) {
        const text = 'b'.repeat(size);
        json[0].send({ type: 1, target: 'BroadcastRepeated', arguments: ['b', size] });
        const texts = await Promise.all(json.map((socket) => socket.nextFrame()));
        const expected = Buffer.from(`{"type":1,"target":"news","arguments":["${text}"]}${RS}`);
        for (const frame of texts) {
          expect(frame.binary).toBe(false);
          expect({ length: frame.data.length, same: frame.data.equals(expected) }).toEqual({ length: expected.length, same: true });
        }
        const binaries = await Promise.all(msgpack.map((socket) => socket.nextFrame()));
        for (const frame of binaries) {
          expect(frame.binary).toBe(true);
          const [message, ...more] = reader.parseMessages(
            frame.data.buffer.slice(frame.data.byteOffset, frame.data.byteOffset + frame.data.length) as ArrayBuffer,
            NullLogger.instance,
          );
          expect(more).toEqual([]);
          expect({ ...message, arguments: undefined }).toEqual({ type: 1, headers: {}, target: 'news', arguments: undefined, streamIds: [] });
          expect((message as { arguments: string[] }).arguments[0] === text).toBe(true);
        }
      }
      // The sockets are still in step: each answers its own call with nothing else queued in between.
      for (const socket of json) {
        socket.send({ type: 1, invocationId: 'after', target: 'Burst', arguments: [0] });
        expect(parseRecords((await socket.nextFrame()).data.toString())).toEqual([{ type: 3, invocationId: 'after', result: 0 }]);
      }
    } finally {
      for (const socket of [...json, ...msgpack]) socket.close();
    }
  });
});
