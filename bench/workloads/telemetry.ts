import { CONTENDERS } from '../support/contenders.js';
import { cpuMsBetween, Suite } from '../support/suite.js';
import { run } from './broadcast.js';

/** Issue 17's budget: server CPU per delivery with metrics and traces on, over off. */
const BUDGET = { broadcast: 1.05, echo: 1.1 };

/**
 * Workload 8: the cost of OpenTelemetry. The nestjs-signalr JSON server twice per repetition (order
 * alternating), without an SDK and with one registered (BENCH_OTEL=1: metrics read every second, every
 * invocation a sampled span, batched); broadcast bursts to 1,000 connections (10 per turn, so writes
 * coalesce alike in both) and echo from 100 clients offered a fixed rate (an open loop: a closed loop
 * would compare CPU per call at different rates, and per-call CPU falls as more calls share each
 * read, write and turn). Reports server CPU per delivered message (per call for echo) and the on/off ratio.
 */
export async function telemetry(suite: Suite): Promise<void> {
  const { full, smoke } = suite.options;
  const count = suite.options.connections ?? (smoke ? 20 : 1000);
  const deliveries = smoke ? 2000 : full ? 1_000_000 : 200_000;
  const echoClients = smoke ? 5 : 100;
  const echoMs = smoke ? 100 : full ? 10_000 : 3000;
  const echoRate = smoke ? 200 : 5000;
  const echoWarmupMs = smoke ? 50 : 2000;
  const table = suite.table(
    'telemetry',
    `OpenTelemetry off vs on (nestjs-signalr JSON; broadcast to ${count} conns, 64 B bursts; echo from ${echoClients} clients at ${echoRate} calls/s)`,
    [
      { key: 'cpuUs', label: 'server CPU µs/delivery', digits: 3 },
      { key: 'mainUs', label: 'main thread µs/delivery', digits: 1 },
      { key: 'rate', label: 'deliveries/s', digits: 0 },
      { key: 'p99', label: 'p99 ms', digits: 2 },
      { key: 'gcUs', label: 'GC pause µs/delivery', digits: 3 },
      { key: 'majorGcs', label: 'full GCs', digits: 0 },
      { key: 'spans', label: 'spans exported', digits: 0 },
    ],
  );
  const contender = CONTENDERS['signalr-json'];
  // BENCH_TELEMETRY_MODES adds the signals alone or sampled traces (e.g. `off,on,metrics,traces,sampled`), to see which costs what.
  const chosen = (process.env.BENCH_TELEMETRY_MODES ?? 'off,on').split(',');
  const modes: string[] = [];
  for (let rep = 0; rep < suite.options.reps; rep++) modes.push(...(rep % 2 === 0 ? chosen : [...chosen].reverse()));
  for (const mode of modes) {
    await suite.withServer(
      contender,
      async (server, port) => {
        const spansBefore = async () => (await server.call<{ spans: number } | null>('telemetry'))?.spans ?? 0;
        await suite.generator.call('connect', { port, protocol: contender.name, count });
        const sends = Math.max(1, Math.round(deliveries / count));
        let spans = await spansBefore();
        const broadcast = await run(suite, server, sends * count, 'broadcast', { sends, burst: 10, size: 64 });
        suite.record(table, `broadcast, telemetry ${mode}`, contender.name, {
          cpuUs: broadcast.cpuUs,
          rate: broadcast.rate,
          p99: broadcast.p99,
          spans: (await spansBefore()) - spans,
        });

        // Warm-up, not measured: the broadcast never runs a hub method, so without it the measured echo
        // would include the interpreter and JIT compiling the invocation path (ours and the SDK's), a
        // start-up cost that dominated the 3 s phase and is not a per-call cost of a running server.
        await suite.generator.call('echo', { clients: echoClients, durationMs: echoWarmupMs, size: 32, rate: echoRate });
        await server.call('gc');
        spans = await spansBefore();
        const before = await server.call('stats');
        const got = await suite.generator.call('echo', { clients: echoClients, durationMs: echoMs, size: 32, rate: echoRate });
        const after = await server.call('stats');
        suite.record(table, `echo, telemetry ${mode}`, contender.name, {
          cpuUs: (cpuMsBetween(before, after) * 1000) / got.latency.count,
          mainUs: after.mainThreadMs === null ? NaN : ((after.mainThreadMs - before.mainThreadMs) * 1000) / got.latency.count,
          rate: got.completed / (got.ms / 1000),
          p99: got.latency.p99,
          gcUs: ((after.gc.ms - before.gc.ms) * 1000) / got.latency.count,
          majorGcs: after.gc.major - before.gc.major,
          spans: (await spansBefore()) - spans,
        });
      },
      { BENCH_OTEL: mode === 'off' ? '0' : mode === 'on' ? '1' : mode },
    );
  }
  for (const workload of ['broadcast', 'echo'] as const) {
    const median = (mode: string) => {
      const reps = table.cells.get(`${workload}, telemetry ${mode}`)?.get(contender.name) ?? [];
      const values = reps.map((rep) => rep.cpuUs).sort((a, b) => a - b);
      const middle = values.length >> 1;
      return values.length % 2 === 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    };
    if (!chosen.includes('on') || !chosen.includes('off')) continue;
    const ratio = median('on') / median('off');
    const line = `${workload}: CPU per delivery on/off = ${ratio.toFixed(3)} (${((ratio - 1) * 100).toFixed(1)}%; budget ${((BUDGET[workload] - 1) * 100).toFixed(0)}%) ${ratio <= BUDGET[workload] ? 'within budget' : 'OVER BUDGET'}`;
    console.log(`  [telemetry] ${line}`);
    table.notes.push(line);
  }
  table.notes.push('"spans exported": spans the batch exporter had received by the end of the phase (the last batch may still be pending).');
}
