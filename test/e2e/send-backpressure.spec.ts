import { HttpTransportType, HubConnection, HubConnectionBuilder, IHubProtocol, JsonHubProtocol, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { getHubContextToken, HubContext, SignalRModule } from '../../src/index.js';
import { BurstEchoHub, SlowConsumerHub } from '../fixtures/backpressure.hubs.js';
import { startApp, TestApp } from '../support/app.js';
import { parseRecords, RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const ECHO = '/hubs/backpressure/echo';
const SLOW = '/hubs/backpressure/slow';
const SLOW_LIMIT = 64 * 1024;
const CLOSE_WITH_ERROR = '{"type":7,"error":"Connection closed with an error.","allowReconnect":true}' + RS;
const SEND_BUFFER_FULL = "Error: The connection's send buffer exceeded 65536 bytes.";

const describeError = (error: Error | undefined) => (error === undefined ? undefined : `${error.name}: ${error.message}`);

describe('outbound backpressure', () => {
  let app: TestApp;
  const clients: HubConnection[] = [];

  async function connectWith(transport: HttpTransportType, protocol: IHubProtocol, stateful = false): Promise<HubConnection> {
    const builder = new HubConnectionBuilder().withUrl(app.url(ECHO), { transport }).withHubProtocol(protocol).configureLogging(LogLevel.None);
    const connection = (stateful ? builder.withStatefulReconnect() : builder).build();
    clients.push(connection);
    await connection.start();
    return connection;
  }

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [BurstEchoHub, SlowConsumerHub] });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.stop().catch(() => undefined)));
    await app.close();
  });

  // 40 replies of 30 KB are 1.2 MB in one tick, more than the 1 MiB send buffer: a client that reads gets them all.
  const cases = [
    ['WebSockets', 'json', HttpTransportType.WebSockets],
    ['WebSockets', 'messagepack', HttpTransportType.WebSockets],
    ['ServerSentEvents', 'json', HttpTransportType.ServerSentEvents],
    ['LongPolling', 'json', HttpTransportType.LongPolling],
    ['LongPolling', 'messagepack', HttpTransportType.LongPolling],
    ['WebSockets with stateful reconnect', 'json', HttpTransportType.WebSockets],
  ] as const;
  it.each(cases)('answers all of 40 concurrent 30 KB echoes over %s (%s)', async (name, protocolName, transport) => {
    const protocol = protocolName === 'json' ? new JsonHubProtocol() : new MessagePackHubProtocol();
    const client = await connectWith(transport, protocol, name.includes('stateful'));
    const payloads = Array.from({ length: 40 }, (_, i) => `${i}:`.padEnd(30 * 1024, String.fromCharCode(97 + (i % 26))));
    const results = await Promise.all(payloads.map((payload) => client.invoke<string>('Echo', payload)));
    expect(results.map((result, i) => result === payloads[i])).toEqual(payloads.map(() => true));
    // Still open and usable afterwards.
    await expect(client.invoke('Echo', 'after')).resolves.toBe('after');
    await client.stop();
  });

  /** A raw WebSocket that stops reading right after the handshake; returns it with its connection id. */
  async function stalledSocket(): Promise<{ raw: RawSocket; id: string; framesBefore: number }> {
    const raw = await RawSocket.handshaken(app.url(SLOW));
    raw.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
    const { result: id } = await raw.nextMessage();
    const framesBefore = raw.frames.length;
    raw.socket.pause();
    return { raw, id, framesBefore };
  }

  /** After resuming: an unbroken prefix of the `chunk` broadcasts, then the slow-consumer Close, then 1000. */
  async function expectClosedAsSlowConsumer(raw: RawSocket, framesBefore: number, sent: number): Promise<void> {
    raw.socket.resume();
    await expect(raw.closed()).resolves.toBe(1000);
    const records = raw.frames.slice(framesBefore).flatMap((frame) => parseRecords(frame.data.toString()));
    expect(JSON.stringify(records.pop()) + RS).toBe(CLOSE_WITH_ERROR);
    const chunks = records.filter((record) => record.type !== 6);
    expect(chunks.length).toBeLessThanOrEqual(sent);
    expect(chunks.map((record) => record.arguments[0])).toEqual(Array.from({ length: chunks.length }, (_, i) => i));
  }

  it('closes a client that never reads once broadcasts take it past twice the send buffer, with memory bounded', async () => {
    const hub = app.app.get(SlowConsumerHub);
    const context = app.app.get<HubContext>(getHubContextToken(SlowConsumerHub));
    const { raw, id, framesBefore } = await stalledSocket();
    const connection = hub.connections.get(id)!;
    const chunk = 'x'.repeat(16 * 1024);
    let sent = 0;
    let largestBuffered = 0;
    while (!hub.lifecycle.disconnects.has(id) && sent < 4096) {
      await context.clients.all.send('chunk', sent++, chunk);
      await new Promise<void>((resolve) => setImmediate(resolve));
      largestBuffered = Math.max(largestBuffered, connection.transport?.bufferedAmount ?? 0);
    }
    expect(sent).toBeLessThan(4096);
    expect(describeError(hub.lifecycle.disconnects.get(id))).toBe(SEND_BUFFER_FULL);
    // Closed at once by the batch that would pass 2 x 64 KiB (the Close message itself may follow).
    expect(largestBuffered).toBeLessThanOrEqual(2 * SLOW_LIMIT + 200);
    await expectClosedAsSlowConsumer(raw, framesBefore, sent);
  });

  /**
   * Sends 16 KiB chunks to a connection whose client stopped reading until the kernel's buffers are
   * full and the transport holds more than the limit (but far from twice it); none of them closes it.
   * Returns how many were sent.
   */
  async function overfill(hub: SlowConsumerHub, id: string): Promise<number> {
    const context = app.app.get<HubContext>(getHubContextToken(SlowConsumerHub));
    const connection = hub.connections.get(id)!;
    const chunk = 'x'.repeat(16 * 1024);
    let sent = 0;
    while ((connection.transport?.bufferedAmount ?? 0) <= SLOW_LIMIT) {
      await context.clients.client(id).send('chunk', sent++, chunk);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(hub.lifecycle.disconnects.has(id)).toBe(false);
    }
    return sent;
  }

  it('closes a client that stays over the send buffer for sendBufferTimeout, not before', async () => {
    const hub = app.app.get(SlowConsumerHub);
    const { raw, id, framesBefore } = await stalledSocket();
    const sent = await overfill(hub, id);
    const overSince = Date.now();
    const error = await hub.lifecycle.disconnected(id);
    const after = Date.now() - overSince;
    expect(describeError(error)).toBe(SEND_BUFFER_FULL);
    expect(after).toBeGreaterThanOrEqual(300 - 50);
    expect(after).toBeLessThan(300 + 1000);
    await expectClosedAsSlowConsumer(raw, framesBefore, sent);
  });

  it('does not close a client that was over the send buffer but read in time', async () => {
    const hub = app.app.get(SlowConsumerHub);
    const { raw, id, framesBefore } = await stalledSocket();
    const sent = await overfill(hub, id);
    raw.socket.resume();
    await waitUntil(
      () =>
        raw.frames
          .slice(framesBefore)
          .flatMap((frame) => parseRecords(frame.data.toString()))
          .filter((r) => r.type === 1).length === sent,
    );
    // Well past the timeout: still open, and it answers.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(hub.lifecycle.disconnects.has(id)).toBe(false);
    raw.send({ type: 1, invocationId: '2', target: 'Echo', arguments: ['still here'] });
    await waitUntil(() => raw.frames.some((frame) => frame.data.toString().includes('still here')));
    raw.close();
    await hub.lifecycle.disconnected(id);
  });
});
