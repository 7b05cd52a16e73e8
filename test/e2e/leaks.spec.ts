import type { HubConnection } from '@microsoft/signalr';
import { SignalRModule } from '../../src/index.js';
import type { DefaultHubLifetimeManager } from '../../src/lifetime/default-hub-lifetime-manager.js';
import { SignalRHubRegistry } from '../../src/signalr.registry.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { FLOOD_MAX_CHUNKS, FloodHub } from '../fixtures/robust-flood.hub.js';
import { LeakHub } from '../fixtures/robust-leak.hub.js';
import { tappedWebSocket, TappedWebSockets } from '../fixtures/robust-tapped-websocket.js';
import { startApp, TestApp } from '../support/app.js';
import { closed, connect, recordCalls, stopAll } from '../support/client.js';
import { parseRecords, RawSocket, RS } from '../support/raw-socket.js';

const LEAK = '/hubs/robust/leak';
const FLOOD = '/hubs/robust/flood';
const CLOSE_WITH_ERROR = '{"type":7,"error":"Connection closed with an error.","allowReconnect":true}' + RS;
const ABRUPT = 'WebSocketException: The remote party closed the WebSocket connection without completing the close handshake.';

/**
 * Waits for state the server reaches after an event the test cannot await directly (e.g. the end of
 * a connection that never reached a hub hook), re-checking on every turn of the event loop.
 */
async function eventually<T>(read: () => T, expected: T, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (JSON.stringify(read()) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(read()).toEqual(expected);
}

function describeError(error: Error | undefined): string | undefined {
  return error === undefined ? undefined : `${error.name}: ${error.message}`;
}

interface Tracked {
  client: HubConnection;
  tap: TappedWebSockets;
  id: string;
}

describe('no leaks', () => {
  let app: TestApp;
  let server: SignalRServer;
  let lifetime: DefaultHubLifetimeManager;

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [LeakHub, FloodHub] });
    server = app.app.get(SignalRServer);
    lifetime = app.app.get(SignalRHubRegistry).lifetimeFor(LeakHub) as DefaultHubLifetimeManager;
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  async function connectTracked(): Promise<Tracked> {
    const tap = tappedWebSocket();
    const client = await connect(app.url(LEAK), tap.options);
    return { client, tap, id: client.connectionId! };
  }

  it('leaves no connection, group or registration behind after clients join groups and leave', async () => {
    const hub = app.app.get(LeakHub);
    expect(server.stats()).toEqual({ registered: 0, running: 0 });

    const tracked = await Promise.all(Array.from({ length: 12 }, () => connectTracked()));
    for (const [i, { client }] of tracked.entries()) {
      await client.invoke('Join', 'everyone');
      await client.invoke('Join', `room-${i % 3}`);
      await client.invoke('Join', `own-${i}`);
      if (i % 4 === 0) await client.invoke('Leave', `own-${i}`);
    }
    expect(server.stats()).toEqual({ registered: 12, running: 12 });
    expect(lifetime.connectionCount).toBe(12);
    expect(lifetime.groupCount).toBe(1 + 3 + 9);

    // Half leave cleanly (stop() sends Close), half drop their TCP connection with no close handshake.
    const clean = tracked.filter((_, i) => i % 2 === 0);
    const abrupt = tracked.filter((_, i) => i % 2 === 1);
    await Promise.all(clean.map(({ client }) => client.stop()));
    for (const { tap } of abrupt) tap.sockets[0].terminate();

    const errors = await Promise.all(tracked.map(({ id }) => hub.lifecycle.disconnected(id)));
    expect(errors.map(describeError)).toEqual(tracked.map((_, i) => (i % 2 === 0 ? undefined : ABRUPT)));
    await eventually(() => server.stats(), { registered: 0, running: 0 });
    expect([lifetime.connectionCount, lifetime.groupCount]).toEqual([0, 0]);
  });

  it('leaves nothing behind for sockets that fail or drop before, during or right after the handshake', async () => {
    const dropsBeforeHandshake = await RawSocket.open(app.url(LEAK));
    const failsHandshake = await RawSocket.open(app.url(LEAK));
    const sendsGarbage = await RawSocket.handshaken(app.url(LEAK));
    const dropsAfterHandshake = await RawSocket.handshaken(app.url(LEAK));
    const closesItself = await RawSocket.handshaken(app.url(LEAK));
    expect(server.stats()).toEqual({ registered: 5, running: 5 });

    dropsBeforeHandshake.socket.terminate();
    failsHandshake.sendText(`{"protocol":"nope","version":1}${RS}`);
    sendsGarbage.sendText(`not json${RS}`);
    dropsAfterHandshake.socket.terminate();
    closesItself.send({ type: 7 });

    expect((await failsHandshake.nextFrame()).data.toString()).toBe(`{"error":"The protocol 'nope' is not supported."}${RS}`);
    expect((await sendsGarbage.nextFrame()).data.toString()).toBe(CLOSE_WITH_ERROR);
    expect((await closesItself.nextFrame()).data.toString()).toBe(`{"type":7}${RS}`);
    await Promise.all([failsHandshake.closed(), sendsGarbage.closed(), closesItself.closed()]);
    await eventually(() => server.stats(), { registered: 0, running: 0 });
    expect([lifetime.connectionCount, lifetime.groupCount]).toEqual([0, 0]);
  });

  it('closes a consumer that stops reading, while a healthy client on the hub gets everything', async () => {
    const hub = app.app.get(FloodHub);
    const healthy = await connect(app.url(FLOOD));
    const chunks = recordCalls(healthy, 'chunk');
    const slow = await RawSocket.handshaken(app.url(FLOOD));
    slow.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
    const { result: slowId } = await slow.nextMessage();
    const framesBefore = slow.frames.length;
    slow.socket.pause();

    // 16 KiB chunks, one per event-loop turn, until the server gives up on the slow consumer.
    const size = 16 * 1024;
    const sent = await healthy.invoke<number>('Flood', slowId, size);
    expect(sent).toBeLessThan(FLOOD_MAX_CHUNKS);
    expect(sent * size).toBeGreaterThan(64 * 1024);
    expect(describeError(hub.lifecycle.disconnects.get(slowId))).toBe("Error: The connection's send buffer exceeded 65536 bytes.");

    // The healthy client got every chunk, in order, whole.
    expect(chunks.map(([index]) => index)).toEqual(Array.from({ length: sent }, (_, i) => i));
    expect(chunks.every(([, payload]) => typeof payload === 'string' && payload.length === size)).toBe(true);
    await expect(healthy.invoke('Echo', 'after the flood')).resolves.toBe('after the flood');

    // The slow one, once it reads again: an unbroken prefix of the chunks, then the Close, then 1000.
    slow.socket.resume();
    await expect(slow.closed()).resolves.toBe(1000);
    const records = slow.frames.slice(framesBefore).flatMap((frame) => parseRecords(frame.data.toString()));
    const last = records.pop();
    expect(JSON.stringify(last) + RS).toBe(CLOSE_WITH_ERROR);
    const received = records.filter((record) => record.type !== 6);
    expect(received.length).toBeLessThan(sent);
    expect(received.map((record) => [record.target, record.arguments[0]])).toEqual(Array.from({ length: received.length }, (_, i) => ['chunk', i]));
    await eventually(() => server.stats(), { registered: 1, running: 1 });
  });
});

describe('shutdown', () => {
  it('settles app.close() with clients connected, and they see a clean close', async () => {
    const app = await startApp({ imports: [SignalRModule.forRoot()], providers: [LeakHub] });
    const server = app.app.get(SignalRServer);
    const hub = app.app.get(LeakHub);
    const lifetime = app.app.get(SignalRHubRegistry).lifetimeFor(LeakHub) as DefaultHubLifetimeManager;

    const clients = await Promise.all([1, 2, 3].map(() => connect(app.url(LEAK))));
    for (const client of clients) await client.invoke('Join', 'room');
    const raw = await RawSocket.handshaken(app.url(LEAK));
    const ends = clients.map((client) => closed(client));
    expect(server.stats()).toEqual({ registered: 4, running: 4 });

    await app.close();

    // Every onDisconnected ran, without error, before close() settled.
    expect(hub.lifecycle.disconnects.size).toBe(4);
    expect([...hub.lifecycle.disconnects.values()]).toEqual([undefined, undefined, undefined, undefined]);
    expect(await Promise.all(ends)).toEqual([undefined, undefined, undefined]);
    expect((await raw.nextFrame()).data.toString()).toBe(`{"type":7,"allowReconnect":true}${RS}`);
    await expect(raw.closed()).resolves.toBe(1000);
    expect(server.stats()).toEqual({ registered: 0, running: 0 });
    expect([lifetime.connectionCount, lifetime.groupCount]).toEqual([0, 0]);
  });
});
