import { ALL } from '../support/contenders.js';
import { cpuMsBetween, Suite } from '../support/suite.js';

/**
 * Workload 5: connection churn. Each cycle: negotiate (SignalR only; the others have no such step over
 * WebSockets), connect, handshake, one echo call, close handshake. 10 cycles in flight.
 */
export async function churn(suite: Suite): Promise<void> {
  const { full, smoke } = suite.options;
  const durationMs = smoke ? 150 : full ? 10_000 : 2000;
  const concurrency = smoke ? 2 : 10;
  const table = suite.table('churn', 'Connection churn (negotiate → connect → handshake → one call → close)', [
    { key: 'rate', label: 'connections/s', digits: 0, ratio: true },
    { key: 'cpuMs', label: 'server CPU ms/conn', digits: 3, ratio: true },
    { key: 'p50', label: 'cycle p50 ms', digits: 2 },
    { key: 'p99', label: 'cycle p99 ms', digits: 2 },
    { key: 'errors', label: 'errors', digits: 0 },
  ]);
  for (const contender of suite.runs(ALL)) {
    await suite.withServer(contender, async (server, port) => {
      const before = await server.call('stats');
      const got = await suite.generator.call('churn', { port, protocol: contender.name, durationMs, concurrency });
      const after = await server.call('stats');
      if (got.errors > 0) console.log(`  ${contender.name}: ${got.errors} churn errors, last: ${got.lastError}`);
      suite.record(table, `${concurrency} in flight`, contender.name, {
        rate: got.cycles / (got.ms / 1000),
        cpuMs: cpuMsBetween(before, after) / Math.max(1, got.cycles),
        p50: got.latency.p50,
        p99: got.latency.p99,
        errors: got.errors,
        genCpu: got.generatorCpu,
      });
    });
  }
}
