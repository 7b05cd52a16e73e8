import { ALL } from '../support/contenders.js';
import type { Child } from '../support/ipc.js';
import { cpuMsBetween, feasibleCounts, type MetricSpec, Suite } from '../support/suite.js';

/** What a server-sent workload reports (broadcast, groups): rate, CPU per delivered message, latency, losses. */
export const DELIVERY_METRICS: MetricSpec[] = [
  { key: 'rate', label: 'delivered msg/s', digits: 0, ratio: true },
  { key: 'cpuUs', label: 'server CPU µs/msg', digits: 3, ratio: true },
  { key: 'p50', label: 'p50 ms', digits: 2 },
  { key: 'p99', label: 'p99 ms', digits: 2 },
  { key: 'lost', label: 'lost', digits: 0 },
];
/**
 * Workload 1: broadcast fan-out from the server. "burst": 10 broadcasts per event-loop turn as fast
 * as possible (a burst should leave each connection in one write); "steady": a fixed delivery rate,
 * for latency below saturation. Server CPU per delivered message is the figure least disturbed by
 * other load on the machine.
 */
export async function broadcast(suite: Suite): Promise<void> {
  const { full, smoke } = suite.options;
  const counts = suite.options.connections ? [suite.options.connections] : smoke ? [20] : full ? [1000, 10_000] : [1000];
  const payloads = smoke ? [64] : [64, 1024];
  const burstDeliveries = smoke ? 2000 : full ? 1_000_000 : 100_000;
  const steadyRate = smoke ? 2000 : 20_000; // delivered messages per second
  const steadyMs = smoke ? 100 : full ? 10_000 : 2000;
  const table = suite.table('broadcast', 'Broadcast fan-out (server → all connections)', DELIVERY_METRICS);
  const feasible = feasibleCounts(table, counts);
  for (const contender of suite.runs(ALL)) {
    await suite.withServer(contender, async (server, port) => {
      for (const count of feasible) {
        await suite.generator.call('connect', { port, protocol: contender.name, count });
        for (const size of payloads) {
          const sends = Math.max(1, Math.round(burstDeliveries / count));
          suite.record(
            table,
            `${count} conns, ${size} B, burst`,
            contender.name,
            await run(suite, server, sends * count, 'broadcast', { sends, burst: 10, size }),
          );
          const rate = steadyRate / count;
          const steady = { sends: Math.max(1, Math.round((rate * steadyMs) / 1000)), rate, size };
          suite.record(
            table,
            `${count} conns, ${size} B, steady ${steadyRate / 1000}k msg/s`,
            contender.name,
            await run(suite, server, steady.sends * count, 'broadcast', steady),
          );
        }
        await suite.generator.call('closeAll');
        await server.call('waitConnections', { count: 0 });
      }
    });
  }
  table.notes.push(
    'burst: 10 broadcasts per event-loop turn, back to back; steady: paced on a 1 ms timer. Latency = server send timestamp in the payload → generator receipt.',
  );
}

/** One broadcast phase: the server sends, the generator counts; CPU is the server's over the phase. */
export async function run(suite: Suite, server: Child, expected: number, command: 'broadcast' | 'groups', args: Record<string, unknown>) {
  // A collection first, so garbage left by the previous phase is not billed to this one.
  await server.call('gc');
  await suite.generator.call('startReceive');
  const before = await server.call('stats');
  await server.call(command, args);
  const got = await suite.generator.call('awaitReceive', { expected });
  const after = await server.call('stats');
  return {
    rate: got.received / (got.ms / 1000),
    cpuUs: (cpuMsBetween(before, after) * 1000) / got.received,
    p50: got.latency.p50,
    p99: got.latency.p99,
    lost: expected - got.received,
    genCpu: got.generatorCpu,
  };
}
