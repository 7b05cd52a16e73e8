import { SignalRModule } from '../../src/index.js';
import { JsonHubProtocol } from '../../src/protocol/json-hub-protocol.js';
import { BurstHub } from '../fixtures/burst.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { parseRecords, RawSocket } from '../support/raw-socket.js';

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
});
