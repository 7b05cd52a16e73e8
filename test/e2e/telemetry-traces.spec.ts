import { HttpTransportType } from '@microsoft/signalr';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { getHubContextToken, Hub, HubContext, HubException, SignalRModule } from '../../src/index.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, stopAll } from '../support/client.js';
import { RawSocket } from '../support/raw-socket.js';
import { installTelemetry, TestTelemetry } from '../support/telemetry.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

let releaseStream: () => void = () => undefined;

@Hub('/hubs/traced')
class TracedHub extends Hub {
  Echo(value: string) {
    return value;
  }

  /** The span the method runs in, as the method sees it. */
  ActiveSpan() {
    return trace.getActiveSpan()?.spanContext().spanId ?? null;
  }

  Fail() {
    throw new TypeError('boom');
  }

  Refuse() {
    throw new HubException('not allowed');
  }

  async *Gated() {
    yield 1;
    await new Promise<void>((resolve) => (releaseStream = resolve));
    yield 2;
  }

  async Ask() {
    return this.clients.caller.invoke('confirm', 'q');
  }
}

const SERVICE_ATTRIBUTES = (method: string) => ({ 'rpc.method': method, 'rpc.system': 'signalr', 'rpc.service': 'TracedHub' });

describe('OpenTelemetry traces (real SDK, in-memory span exporter)', () => {
  let telemetry: TestTelemetry;
  let app: TestApp;

  const spansNamed = (name: string): ReadableSpan[] => telemetry.finishedSpans().filter((span) => span.name === name);

  beforeAll(async () => {
    telemetry = installTelemetry();
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [TracedHub] });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
    await telemetry.uninstall();
  });
  beforeEach(() => telemetry.spans.reset());

  it("one SERVER span per invocation, named and attributed as ASP.NET Core 9's, parented to the traceparent in the invocation's headers", async () => {
    const raw = await RawSocket.handshaken(app.url('/hubs/traced'));
    raw.send({ type: 1, invocationId: '1', target: 'Echo', arguments: ['a'], headers: { traceparent: TRACEPARENT, tracestate: 'vendor=x' } });
    expect(await raw.nextMessage()).toEqual({ type: 3, invocationId: '1', result: 'a' });
    const [span] = spansNamed('TracedHub/Echo');
    expect(telemetry.finishedSpans()).toHaveLength(1);
    expect({
      name: span.name,
      kind: span.kind,
      scope: span.instrumentationScope.name,
      attributes: span.attributes,
      traceId: span.spanContext().traceId,
      parent: span.parentSpanContext?.spanId,
      remoteParent: span.parentSpanContext?.isRemote,
      traceState: span.spanContext().traceState?.serialize(),
      status: span.status.code,
    }).toEqual({
      name: 'TracedHub/Echo',
      kind: SpanKind.SERVER,
      scope: 'Microsoft.AspNetCore.SignalR.Server',
      attributes: SERVICE_ATTRIBUTES('Echo'),
      traceId: TRACE_ID,
      parent: PARENT_ID,
      remoteParent: true,
      traceState: 'vendor=x',
      status: SpanStatusCode.UNSET,
    });
    raw.close();
  });

  it("with trace context both in the headers and on the connection's request, the headers are the parent and the request a link", async () => {
    const requestParent = '1111111111111111';
    const raw = await RawSocket.open(app.url('/hubs/traced'), { traceparent: `00-${'a'.repeat(32)}-${requestParent}-01` });
    raw.sendText('{"protocol":"json","version":1}\u001e');
    await raw.nextFrame();
    raw.send({ type: 1, invocationId: '1', target: 'Echo', arguments: ['d'], headers: { traceparent: TRACEPARENT } });
    await raw.nextMessage();
    const [span] = spansNamed('TracedHub/Echo');
    expect({ parent: span.parentSpanContext?.spanId, links: span.links.map((link) => [link.context.traceId, link.context.spanId]) }).toEqual({
      parent: PARENT_ID,
      links: [['a'.repeat(32), requestParent]],
    });
    raw.close();
  });

  it('the hub method runs with its invocation span active', async () => {
    const raw = await RawSocket.handshaken(app.url('/hubs/traced'));
    raw.send({ type: 1, invocationId: '1', target: 'ActiveSpan', arguments: [], headers: { traceparent: TRACEPARENT } });
    const completion = await raw.nextMessage();
    const [span] = spansNamed('TracedHub/ActiveSpan');
    expect(completion).toEqual({ type: 3, invocationId: '1', result: span.spanContext().spanId });
    raw.close();
  });

  it('errors set the span status to ERROR with error.type and the exception recorded', async () => {
    const raw = await RawSocket.handshaken(app.url('/hubs/traced'));
    raw.send({ type: 1, invocationId: '1', target: 'Fail', arguments: [] }, { type: 1, invocationId: '2', target: 'Refuse', arguments: [] });
    await raw.nextRecords(2);
    const describe = (span: ReadableSpan) => ({
      status: span.status,
      errorType: span.attributes['error.type'],
      events: span.events.map((event) => [event.name, event.attributes?.['exception.message']]),
    });
    expect(describe(spansNamed('TracedHub/Fail')[0])).toEqual({
      status: { code: SpanStatusCode.ERROR, message: 'boom' },
      errorType: 'TypeError',
      events: [['exception', 'boom']],
    });
    expect(describe(spansNamed('TracedHub/Refuse')[0])).toEqual({
      status: { code: SpanStatusCode.ERROR, message: 'not allowed' },
      errorType: 'HubException',
      events: [['exception', 'not allowed']],
    });
    raw.close();
  });

  it.each([
    ['WebSockets', HttpTransportType.WebSockets],
    ['LongPolling', HttpTransportType.LongPolling],
  ])('%s: without headers in the invocation, the parent is the trace context of the request that started the connection', async (_name, transport) => {
    const client = await connect(app.url('/hubs/traced'), { transport, headers: { traceparent: TRACEPARENT } });
    expect(await client.invoke('Echo', 'b')).toBe('b');
    const [span] = spansNamed('TracedHub/Echo');
    expect([span.spanContext().traceId, span.parentSpanContext?.spanId]).toEqual([TRACE_ID, PARENT_ID]);
    await client.stop();
  });

  it('without any trace context an invocation starts its own trace', async () => {
    const client = await connect(app.url('/hubs/traced'));
    expect(await client.invoke('Echo', 'c')).toBe('c');
    const [span] = spansNamed('TracedHub/Echo');
    expect([span.parentSpanContext, span.spanContext().traceId === TRACE_ID]).toEqual([undefined, false]);
    await client.stop();
  });

  it("a stream's span lasts until its last item", async () => {
    const client = await connect(app.url('/hubs/traced'));
    const items: number[] = [];
    let firstItem!: () => void;
    const gotFirst = new Promise<void>((resolve) => (firstItem = resolve));
    const completed = new Promise<void>((resolve, reject) =>
      client.stream('Gated').subscribe({
        next: (item: number) => {
          items.push(item);
          firstItem();
        },
        complete: resolve,
        error: reject,
      }),
    );
    await gotFirst;
    expect(spansNamed('TracedHub/Gated')).toEqual([]);
    releaseStream();
    await completed;
    expect(items).toEqual([1, 2]);
    const [span] = spansNamed('TracedHub/Gated');
    expect({ kind: span.kind, attributes: span.attributes, status: span.status.code }).toEqual({
      kind: SpanKind.SERVER,
      attributes: SERVICE_ATTRIBUTES('Gated'),
      status: SpanStatusCode.UNSET,
    });
    await client.stop();
  });

  it("HubContext sends are PRODUCER spans of the caller's trace; without one, no span", async () => {
    const hub = app.app.get<HubContext>(getHubContextToken(TracedHub));
    const client = await connect(app.url('/hubs/traced'));
    const received: unknown[] = [];
    client.on('note', (value) => received.push(value));
    await hub.clients.all.send('note', 'untraced');
    expect(telemetry.finishedSpans()).toEqual([]);
    const tracer = trace.getTracer('test');
    const callerSpanId = await tracer.startActiveSpan('caller', async (caller) => {
      await hub.clients.all.send('note', 'traced');
      caller.end();
      return caller.spanContext().spanId;
    });
    const [send] = spansNamed('TracedHub/note');
    expect({ kind: send.kind, parent: send.parentSpanContext?.spanId, attributes: send.attributes }).toEqual({
      kind: SpanKind.PRODUCER,
      parent: callerSpanId,
      attributes: { ...SERVICE_ATTRIBUTES('note'), 'signalr.send.target': 'all' },
    });
    await client.stop();
  });

  it('a client-result call is a CLIENT span under the invocation that made it, ended by the answer', async () => {
    const client = await connect(app.url('/hubs/traced'));
    client.on('confirm', (question: string) => `yes to ${question}`);
    expect(await client.invoke('Ask')).toBe('yes to q');
    const [ask] = spansNamed('TracedHub/Ask');
    const [confirm] = spansNamed('TracedHub/confirm');
    expect({ kind: confirm.kind, parent: confirm.parentSpanContext?.spanId, trace: confirm.spanContext().traceId, status: confirm.status.code }).toEqual({
      kind: SpanKind.CLIENT,
      parent: ask.spanContext().spanId,
      trace: ask.spanContext().traceId,
      status: SpanStatusCode.UNSET,
    });
    await client.stop();
  });
});
