/*
 * The instrumentation's own CPU per hub method invocation, in isolation (no sockets, no Nest): an
 * invocation observed as the dispatcher does (begin, run in its span's context, done), with the SDK
 * of bench/servers/telemetry-sdk.ts registered for the signals asked, against none.
 *
 *   node -r ./test/support/ts-register.js bench/tools/telemetry-micro.ts [--cold]
 *
 * --cold runs about 20 µs of unrelated work (1 MB of memory touched, a JSON round trip) before each
 * invocation, as a server's socket and protocol work between two calls does: the SDK's code and
 * data are then no longer in the CPU caches, and cost several times what they do in a tight loop.
 */
import * as otelApi from '@opentelemetry/api';
import { AsyncLocalStorage } from 'async_hooks';
import { fork } from 'child_process';
import { registerTelemetrySdk } from '../servers/telemetry-sdk.js';
import { invocationTelemetry } from '../../src/observability/invocation-telemetry.js';
import { refreshTelemetry } from '../../src/observability/telemetry-state.js';

const MODES = ['off', 'metrics', 'traces', 'on', 'floor'];

/**
 * 'floor': the SDK calls any instrumentation must make per invocation with every signal on (a span
 * started from an explicit parent with its attributes, made active around the method, ended; one
 * histogram value with its attributes), and nothing of ours: what is left over 'on' is our cost.
 */
function sdkFloor(method: () => Promise<number>, done: () => void): () => Promise<void> {
  const { context, metrics, ROOT_CONTEXT, SpanKind, trace } = otelApi;
  const tracer = trace.getTracer('floor');
  const histogram = metrics.getMeter('floor').createHistogram('floor.duration', { unit: 's' });
  const spanAttributes = { 'rpc.method': 'Echo', 'rpc.system': 'signalr', 'rpc.service': 'BenchHub' };
  const metricAttributes = { 'rpc.service': 'BenchHub', 'rpc.method': 'Echo', 'signalr.invocation.outcome': 'success' };
  return async () => {
    const started = performance.now();
    const span = tracer.startSpan('BenchHub/Echo', { kind: SpanKind.SERVER, attributes: spanAttributes }, ROOT_CONTEXT);
    await context.with(trace.setSpan(ROOT_CONTEXT, span), () =>
      method().then(() => {
        span.end();
        histogram.record((performance.now() - started) / 1000, metricAttributes);
        done();
      }),
    );
  };
}

const junk = new Float64Array(1 << 17);

/** Work between two invocations that pushes everything else out of the CPU's caches (see --cold). */
function evictCaches(): void {
  for (let i = 0; i < junk.length; i += 8) junk[i]++;
  JSON.parse(JSON.stringify({ id: junk[0], text: 'x'.repeat(200) }));
}

async function measure(mode: string): Promise<void> {
  if (mode !== 'off') registerTelemetrySdk(mode === 'floor' ? 'on' : mode);
  refreshTelemetry();
  // The hub call scope the dispatcher runs methods in (hub-call-scope.ts), so both stores are live.
  const scopes = new AsyncLocalStorage<object>();
  const connection = { request: { headers: {} } };
  let completed = 0;
  const done = () => void completed++;
  const method = () => Promise.resolve(1);
  const floor = mode === 'floor' ? sdkFloor(() => scopes.run({}, method), done) : null;
  const cold = process.env.TELEMETRY_MICRO_COLD === '1';
  const once = async () => {
    if (cold) evictCaches();
    if (floor !== null) return floor();
    const observed = invocationTelemetry.begin('BenchHub', 'Echo', false, undefined, connection, done, done);
    const call = () => scopes.run({}, method).then(observed === null ? done : observed.done, done);
    await (observed === null ? call() : observed.run(call));
  };
  for (let i = 0; i < 20_000; i++) await once();
  const count = cold ? 50_000 : 200_000;
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) await once();
  const cpu = process.cpuUsage(before);
  process.send!({ mode, us: (cpu.user + cpu.system) / count });
}

if (process.argv[2] !== undefined && !process.argv[2].startsWith('--')) {
  void measure(process.argv[2]).then(() => process.exit(0));
} else {
  void (async () => {
    const results: Record<string, number> = {};
    // One process per mode: a registered SDK cannot be taken back cleanly.
    for (const mode of MODES) {
      const env = { ...process.env, TELEMETRY_MICRO_COLD: process.argv.includes('--cold') ? '1' : '0' };
      const child = fork(__filename, [mode], { execArgv: process.execArgv, env });
      results[mode] = await new Promise<number>((resolve) => child.on('message', (message: { us: number }) => resolve(message.us)));
    }
    for (const mode of MODES) console.log(`${mode.padEnd(8)} ${results[mode].toFixed(2)} µs CPU per invocation (+${(results[mode] - results.off).toFixed(2)})`);
    console.log(`ours     ${(results.on - results.floor).toFixed(2)} µs per invocation ('on' less the SDK's own 'floor')`);
  })();
}
