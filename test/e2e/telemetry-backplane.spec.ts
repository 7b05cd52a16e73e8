import { trace, SpanKind } from '@opentelemetry/api';
import { getHubContextToken, Hub, HubContext, SignalRModule } from '../../src/index.js';
import { redisBackplane } from '../../src/redis/index.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, nextCall, stopAll } from '../support/client.js';
import { RedisServer, startRedis } from '../support/redis.js';
import { installTelemetry, TestTelemetry } from '../support/telemetry.js';
import { eventually } from '../support/wait.js';

@Hub('/hubs/clustered')
class ClusteredHub extends Hub {}

const REDIS = { 'signalr.backplane': 'redis' };

describe('OpenTelemetry backplane metrics and trace context across Redis (two instances in this process)', () => {
  let redis: RedisServer;
  let telemetry: TestTelemetry;
  let a: TestApp;
  let b: TestApp;

  const instance = () => startApp({ imports: [SignalRModule.forRoot({ backplane: redisBackplane({ url: redis.url }) })], providers: [ClusteredHub] });
  const counts = async () => ({
    publishes: await telemetry.sum('signalr.backplane.publishes', REDIS),
    receives: await telemetry.sum('signalr.backplane.receives', REDIS),
    outages: await telemetry.sum('signalr.backplane.outages', REDIS),
    dropped: await telemetry.sum('signalr.backplane.dropped_sends', REDIS),
  });
  const connected = async () => {
    const found = (await telemetry.collect()).get('signalr.backplane.connected');
    return found?.metric.dataPoints.map((point) => point.value);
  };

  beforeAll(async () => {
    redis = await startRedis();
    telemetry = installTelemetry();
    a = await instance();
    b = await instance();
  });
  afterAll(async () => {
    await stopAll();
    await Promise.all([a?.close(), b?.close()]);
    await telemetry.uninstall();
    await redis?.close();
  });

  it('publishes, receives and acks move with traffic; a traced send continues as a CONSUMER span on the other instance', async () => {
    expect(await eventually(connected, [1])).toEqual([1]);
    const client = await connect(b.url('/hubs/clustered'));
    const hubA = a.app.get<HubContext>(getHubContextToken(ClusteredHub));
    const before = await counts();

    const note = nextCall(client, 'note');
    const producer = await trace.getTracer('test').startActiveSpan('caller', async (caller) => {
      await hubA.clients.all.send('note', 'across');
      caller.end();
      return telemetry.finishedSpans().find((span) => span.name === 'ClusteredHub/note')!;
    });
    expect(await note).toEqual(['across']);
    // One PUBLISH on `all`; both instances receive it (A skips its own echo).
    const moved = { ...before, publishes: before.publishes + 1, receives: before.receives + 2 };
    expect(await eventually(counts, moved)).toEqual(moved);
    const consumer = telemetry.finishedSpans().find((span) => span.name === 'ClusteredHub receive')!;
    expect({
      kind: consumer.kind,
      trace: consumer.spanContext().traceId,
      parent: consumer.parentSpanContext?.spanId,
      remote: consumer.parentSpanContext?.isRemote,
    }).toEqual({
      kind: SpanKind.CONSUMER,
      trace: producer.spanContext().traceId,
      parent: producer.spanContext().spanId,
      remote: true,
    });

    // A group change for B's connection, asked on A: B applies it and acks.
    const acks = (await telemetry.histogram('signalr.backplane.ack.duration', REDIS)).count;
    await hubA.groups.addToGroup(client.connectionId!, 'room');
    expect((await telemetry.histogram('signalr.backplane.ack.duration', REDIS)).count).toBe(acks + 1);
    await client.stop();
  });

  it('an outage: connected drops to 0, one outage per instance, sends during it are dropped; all back once Redis returns', async () => {
    const client = await connect(b.url('/hubs/clustered'));
    const hubA = a.app.get<HubContext>(getHubContextToken(ClusteredHub));
    const before = await counts();
    await redis.stop();
    expect(await eventually(connected, [0])).toEqual([0]);
    expect(await eventually(async () => (await counts()).outages, before.outages + 2)).toBe(before.outages + 2);

    await hubA.clients.all.send('note', 'lost');
    expect((await counts()).dropped).toBe(before.dropped + 1);

    await redis.start();
    expect(await eventually(connected, [1], 15_000)).toEqual([1]);
    const note = nextCall(client, 'note');
    await hubA.clients.all.send('note', 'after');
    expect(await note).toEqual(['after']);
    expect((await counts()).outages).toBe(before.outages + 2);
    await client.stop();
  }, 30_000);
});
