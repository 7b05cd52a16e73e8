import { HttpTransportType, Subject } from '@microsoft/signalr';
import {
  ATTR_SIGNALR_CONNECTION_STATUS,
  ATTR_SIGNALR_TRANSPORT,
  METRIC_SIGNALR_SERVER_ACTIVE_CONNECTIONS,
  METRIC_SIGNALR_SERVER_CONNECTION_DURATION,
  SIGNALR_CONNECTION_STATUS_VALUE_APP_SHUTDOWN,
  SIGNALR_CONNECTION_STATUS_VALUE_NORMAL_CLOSURE,
  SIGNALR_CONNECTION_STATUS_VALUE_TIMEOUT,
  SIGNALR_TRANSPORT_VALUE_LONG_POLLING,
  SIGNALR_TRANSPORT_VALUE_SERVER_SENT_EVENTS,
  SIGNALR_TRANSPORT_VALUE_WEB_SOCKETS,
} from '@opentelemetry/semantic-conventions';
import { ConnectionHandler, Hub, type OnRawConnection, type RawConnection, SignalRModule, UploadStream } from '../../src/index.js';
import { startApp, TestApp } from '../support/app.js';
import { buildMsgpackClient, connect, stopAll } from '../support/client.js';
import { negotiate, request } from '../support/http.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { installTelemetry, TestTelemetry } from '../support/telemetry.js';
import { eventually } from '../support/wait.js';

let releaseStream: () => void = () => undefined;

@Hub('/hubs/telemetry')
class TelemetryHub extends Hub {
  Echo(value: string) {
    return value;
  }

  Join(group: string) {
    return this.groups.addToGroup(this.context.connectionId, group);
  }

  async *Gated() {
    yield 1;
    await new Promise<void>((resolve) => (releaseStream = resolve));
  }

  async Collect(@UploadStream() items: AsyncIterable<string>) {
    const got: string[] = [];
    for await (const item of items) got.push(item);
    return got.join();
  }

  Ask() {
    return this.clients.caller.invoke('confirm');
  }
}

/** A silent client is dropped after 300 ms (armed by its first ping); a long-polling one that stops polling, too. */
@Hub('/hubs/telemetry/short', { clientTimeoutInterval: 300, disconnectTimeout: 300, keepAliveInterval: 100 })
class ShortTimeoutHub extends Hub {}

/** A raw connection (no hub protocol): ASP.NET Core's instruments count these too. */
@ConnectionHandler('/raw/telemetry')
class EchoHandler implements OnRawConnection {
  async onConnected(connection: RawConnection): Promise<void> {
    for await (const message of connection) connection.send(message);
  }
}

const ACTIVE = METRIC_SIGNALR_SERVER_ACTIVE_CONNECTIONS;
const DURATION = METRIC_SIGNALR_SERVER_CONNECTION_DURATION;
const transportAttribute = (value: string) => ({ [ATTR_SIGNALR_TRANSPORT]: value });
const ended = (status: string, transport: string) => ({ [ATTR_SIGNALR_CONNECTION_STATUS]: status, [ATTR_SIGNALR_TRANSPORT]: transport });

describe('OpenTelemetry metrics (real SDK, in-memory reader)', () => {
  let telemetry: TestTelemetry;
  let app: TestApp;

  beforeAll(async () => {
    telemetry = installTelemetry();
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [TelemetryHub, ShortTimeoutHub, EchoHandler] });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
    await telemetry.uninstall();
  });

  it("reports ASP.NET Core's instruments under its meter, with its units, descriptions and buckets", async () => {
    const client = await connect(app.url('/hubs/telemetry'));
    const collected = await telemetry.collect();
    const active = collected.get(ACTIVE)!;
    expect(active.scope).toBe('Microsoft.AspNetCore.Http.Connections');
    expect({ unit: active.metric.descriptor.unit, description: active.metric.descriptor.description }).toEqual({
      unit: '{connection}',
      description: 'Number of connections that are currently active on the server.',
    });
    await client.stop();
    await eventually(() => telemetry.sum(ACTIVE, transportAttribute('web_sockets')), 0);
    const duration = (await telemetry.collect()).get(DURATION)!;
    expect(duration.scope).toBe('Microsoft.AspNetCore.Http.Connections');
    expect(duration.metric.descriptor.unit).toBe('s');
    const point = duration.metric.dataPoints[0].value as { buckets: { boundaries: number[] } };
    expect(point.buckets.boundaries).toEqual([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]);
  });

  it.each([
    ['WebSockets', HttpTransportType.WebSockets, SIGNALR_TRANSPORT_VALUE_WEB_SOCKETS],
    ['ServerSentEvents', HttpTransportType.ServerSentEvents, SIGNALR_TRANSPORT_VALUE_SERVER_SENT_EVENTS],
    ['LongPolling', HttpTransportType.LongPolling, SIGNALR_TRANSPORT_VALUE_LONG_POLLING],
  ])('%s: two connections count as active, and each records its duration as a normal closure when it stops', async (_name, transport, value) => {
    const activeBefore = await telemetry.sum(ACTIVE, transportAttribute(value));
    const before = await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_NORMAL_CLOSURE, value));
    const first = await connect(app.url('/hubs/telemetry'), { transport });
    const second = await connect(app.url('/hubs/telemetry'), { transport });
    expect(await first.invoke('Echo', 'x')).toBe('x');
    expect(await telemetry.sum(ACTIVE, transportAttribute(value))).toBe(activeBefore + 2);
    const openedAt = Date.now();

    await first.stop();
    expect(await eventually(() => telemetry.sum(ACTIVE, transportAttribute(value)), activeBefore + 1)).toBe(activeBefore + 1);
    await second.stop();
    expect(await eventually(() => telemetry.sum(ACTIVE, transportAttribute(value)), activeBefore)).toBe(activeBefore);

    const after = await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_NORMAL_CLOSURE, value));
    expect(after.count - before.count).toBe(2);
    const seconds = after.sum - before.sum;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan((2 * (Date.now() - openedAt + 5000)) / 1000);
    // Only the attributes ASP.NET Core records: the transport on the counter, status and transport on the histogram.
    expect(await telemetry.attributeSets(ACTIVE)).toContainEqual(transportAttribute(value));
    expect((await telemetry.attributeSets(DURATION)).every((set) => Object.keys(set).sort().join() === 'signalr.connection.status,signalr.transport')).toBe(
      true,
    );
  });

  it('counts MessagePack traffic under its own protocol', async () => {
    const messagepack = { 'signalr.protocol': 'messagepack' };
    const activeBefore = await telemetry.sum(ACTIVE, transportAttribute('web_sockets'));
    const client = buildMsgpackClient(app.url('/hubs/telemetry'));
    await client.start();
    // The first call settles the client's opening traffic (its first ping, sent at once by recent clients).
    expect(await client.invoke('Echo', 'first')).toBe('first');
    const before = [await telemetry.sum('signalr.server.messages.received', messagepack), await telemetry.sum('signalr.server.messages.sent', messagepack)];
    expect(await client.invoke('Echo', 'm')).toBe('m');
    expect([await telemetry.sum('signalr.server.messages.received', messagepack), await telemetry.sum('signalr.server.messages.sent', messagepack)]).toEqual([
      before[0] + 1,
      before[1] + 1,
    ]);
    await client.stop();
    // Ended on the server too before the next test counts connections.
    expect(await eventually(() => telemetry.sum(ACTIVE, transportAttribute('web_sockets')), activeBefore)).toBe(activeBefore);
  });

  it('a raw connection (@ConnectionHandler) counts as active while open and records one duration when the client leaves', async () => {
    const before = await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_NORMAL_CLOSURE, 'web_sockets'));
    const activeBefore = await telemetry.sum(ACTIVE, transportAttribute('web_sockets'));
    const raw = await RawSocket.open(app.url('/raw/telemetry'));
    raw.sendText('ping');
    expect((await raw.nextFrame()).data.toString()).toBe('ping');
    expect(await telemetry.sum(ACTIVE, transportAttribute('web_sockets'))).toBe(activeBefore + 1);
    raw.close();
    expect(await eventually(() => telemetry.sum(ACTIVE, transportAttribute('web_sockets')), activeBefore)).toBe(activeBefore);
    // The handler's end and the transport's end both report it: it counts once.
    expect((await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_NORMAL_CLOSURE, 'web_sockets'))).count).toBe(before.count + 1);
  });

  it('gauges of what hubs hold: groups, running streams, open uploads and pending client results, by hub', async () => {
    const hub = { 'rpc.service': 'TelemetryHub' };
    const gauges = async () => ({
      groups: await telemetry.sum('signalr.server.groups', hub),
      streams: await telemetry.sum('signalr.server.active_streams', hub),
      uploads: await telemetry.sum('signalr.server.active_uploads'),
      pending: await telemetry.sum('signalr.server.pending_client_results', hub),
    });
    const client = await connect(app.url('/hubs/telemetry'));
    expect(await gauges()).toEqual({ groups: 0, streams: 0, uploads: 0, pending: 0 });
    await client.invoke('Join', 'a');
    await client.invoke('Join', 'b');

    let firstItem!: () => void;
    const gotFirst = new Promise<void>((resolve) => (firstItem = resolve));
    const streamEnded = new Promise<void>((resolve, reject) => client.stream('Gated').subscribe({ next: () => firstItem(), complete: resolve, error: reject }));
    await gotFirst;
    const upload = new Subject<string>();
    const collected = client.invoke('Collect', upload);
    upload.next('x');
    let answer!: (value: string) => void;
    let asked!: () => void;
    const wasAsked = new Promise<void>((resolve) => (asked = resolve));
    client.on('confirm', () => {
      asked();
      return new Promise<string>((resolve) => (answer = resolve));
    });
    const answered = client.invoke('Ask');
    await wasAsked;
    expect(await gauges()).toEqual({ groups: 2, streams: 1, uploads: 1, pending: 1 });

    releaseStream();
    await streamEnded;
    upload.complete();
    expect(await collected).toBe('x');
    answer('yes');
    expect(await answered).toBe('yes');
    expect(await gauges()).toEqual({ groups: 2, streams: 0, uploads: 0, pending: 0 });
    await client.stop();
    expect(await eventually(gauges, { groups: 0, streams: 0, uploads: 0, pending: 0 })).toEqual({ groups: 0, streams: 0, uploads: 0, pending: 0 });
  });

  it('a client that goes silent past clientTimeoutInterval ends with status timeout', async () => {
    const before = await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_TIMEOUT, 'web_sockets'));
    const normalBefore = await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_NORMAL_CLOSURE, 'web_sockets'));
    const raw = await RawSocket.handshaken(app.url('/hubs/telemetry/short'));
    raw.sendText(`{"type":6}${RS}`); // arms the client timeout; then nothing more
    await raw.closed();
    expect(
      await eventually(
        async () => (await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_TIMEOUT, 'web_sockets'))).count,
        before.count + 1,
      ),
    ).toBe(before.count + 1);
    expect((await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_NORMAL_CLOSURE, 'web_sockets'))).count).toBe(normalBefore.count);
  });

  it('a long-polling client that stops polling ends with status timeout after disconnectTimeout', async () => {
    const attributes = ended(SIGNALR_CONNECTION_STATUS_VALUE_TIMEOUT, 'long_polling');
    const before = await telemetry.histogram(DURATION, attributes);
    const activeBefore = await telemetry.sum(ACTIVE, transportAttribute('long_polling'));
    const { connectionToken } = await negotiate(app.url('/hubs/telemetry/short'));
    // The first poll starts the transport (and returns at once); no poll follows.
    expect((await request(app.url(`/hubs/telemetry/short?id=${connectionToken}`))).status).toBe(200);
    expect(await telemetry.sum(ACTIVE, transportAttribute('long_polling'))).toBe(activeBefore + 1);
    expect(await eventually(async () => (await telemetry.histogram(DURATION, attributes)).count, before.count + 1)).toBe(before.count + 1);
    expect(await telemetry.sum(ACTIVE, transportAttribute('long_polling'))).toBe(activeBefore);
  });

  it('counts hub protocol messages and their framed bytes both ways, by protocol', async () => {
    const json = { 'signalr.protocol': 'json' };
    const read = async () => [
      await telemetry.sum('signalr.server.messages.received', json),
      await telemetry.sum('signalr.server.bytes.received', json),
      await telemetry.sum('signalr.server.messages.sent', json),
      await telemetry.sum('signalr.server.bytes.sent', json),
    ];
    const raw = await RawSocket.handshaken(app.url('/hubs/telemetry'));
    const before = await read();
    const invocation = `{"type":1,"invocationId":"1","target":"Echo","arguments":["héllo"]}${RS}`;
    const blocking = `{"type":1,"target":"Echo","arguments":["y"]}${RS}`;
    raw.sendText(blocking + invocation);
    const frame = await raw.nextFrame();
    expect(frame.data.toString()).toBe(`{"type":3,"invocationId":"1","result":"héllo"}${RS}`);
    const after = await read();
    expect(after.map((value, i) => value - before[i])).toEqual([2, Buffer.byteLength(blocking + invocation), 1, frame.data.length]);
    raw.close();
  });
});

describe('OpenTelemetry metrics at app shutdown', () => {
  it('connections closed by the app shutting down end with status app_shutdown', async () => {
    const telemetry = installTelemetry();
    try {
      const app = await startApp({ imports: [SignalRModule.forRoot()], providers: [TelemetryHub] });
      await connect(app.url('/hubs/telemetry'), { transport: HttpTransportType.WebSockets });
      await connect(app.url('/hubs/telemetry'), { transport: HttpTransportType.ServerSentEvents });
      await app.close();
      expect((await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_APP_SHUTDOWN, 'web_sockets'))).count).toBe(1);
      expect((await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_APP_SHUTDOWN, 'server_sent_events'))).count).toBe(1);
      expect((await telemetry.histogram(DURATION, ended(SIGNALR_CONNECTION_STATUS_VALUE_NORMAL_CLOSURE, 'web_sockets'))).count).toBe(0);
      expect(await telemetry.sum(ACTIVE, transportAttribute('web_sockets'))).toBe(0);
      expect(await telemetry.sum(ACTIVE, transportAttribute('server_sent_events'))).toBe(0);
    } finally {
      await stopAll();
      await telemetry.uninstall();
    }
  });
});
