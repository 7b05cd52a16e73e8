import { ALL } from '../support/contenders.js';
import { cpuMsBetween, Suite } from '../support/suite.js';

/**
 * Workload 2: echo round trips. Closed loop (each client keeps one call outstanding) from 1, 100 and
 * 1,000 clients for the ceiling, then an open loop at half the 100-client ceiling for latency below
 * saturation. SignalR: an `Echo` hub method returning its argument (a Completion); Socket.IO: emit with
 * ack; raw ws: JSON.parse + JSON.stringify echo; Nest gateway: a handler returning `{ event, data }`.
 */
export async function echo(suite: Suite): Promise<void> {
  const { full, smoke } = suite.options;
  const clientCounts = smoke ? [1, 5] : [1, 100, suite.options.connections ?? 1000];
  const durationMs = smoke ? 100 : full ? 10_000 : 2000;
  const table = suite.table('echo', 'Echo round trips (32 B)', [
    { key: 'rate', label: 'calls/s', digits: 0, ratio: true },
    { key: 'cpuUs', label: 'server CPU µs/call', digits: 2, ratio: true },
    { key: 'p50', label: 'p50 ms', digits: 2 },
    { key: 'p99', label: 'p99 ms', digits: 2 },
  ]);
  const halfCase = clientCounts[Math.min(1, clientCounts.length - 1)];
  for (const contender of suite.runs(ALL)) {
    await suite.withServer(contender, async (server, port) => {
      await suite.generator.call('connect', { port, protocol: contender.name, count: Math.max(...clientCounts) });
      let ceiling = 0;
      const phase = async (clients: number, rate: number) => {
        await server.call('gc');
        const before = await server.call('stats');
        const got = await suite.generator.call('echo', { clients, durationMs, size: 32, rate });
        const after = await server.call('stats');
        return {
          rate: got.completed / (got.ms / 1000),
          cpuUs: (cpuMsBetween(before, after) * 1000) / got.latency.count,
          p50: got.latency.p50,
          p99: got.latency.p99,
          genCpu: got.generatorCpu,
        };
      };
      for (const clients of clientCounts) {
        const result = await phase(clients, 0);
        if (clients === halfCase) ceiling = result.rate;
        suite.record(table, `${clients} client(s), closed loop`, contender.name, result);
      }
      const rate = Math.max(1, Math.round(ceiling / 2));
      const result = await phase(halfCase, rate);
      suite.record(table, `${halfCase} clients, open loop at ½ own ceiling`, contender.name, { ...result, offered: rate });
    });
  }
  table.notes.push("Open loop: each contender is offered half of its own 100-client closed-loop rate; the issue's target is p99 < 5 ms there.");
}
