import { ALL } from '../support/contenders.js';
import { Suite } from '../support/suite.js';
import { DELIVERY_METRICS, run } from './broadcast.js';

/**
 * Workload 3: sends to many small groups. Every connection joins one group of 10 (SignalR groups,
 * Socket.IO rooms, a Map of Sets for raw ws and the Nest gateway); each round sends one message to
 * every group, so a round delivers one message per connection through N/10 group sends.
 */
export async function groups(suite: Suite): Promise<void> {
  const { full, smoke } = suite.options;
  const count = suite.options.connections ?? (smoke ? 20 : full ? 10_000 : 1000);
  const deliveries = smoke ? 1000 : full ? 500_000 : 100_000;
  const steadyRate = smoke ? 2000 : 20_000;
  const steadyMs = smoke ? 100 : full ? 10_000 : 2000;
  const groupCount = Math.ceil(count / 10);
  const table = suite.table('groups', `Group sends (${count} connections in ${groupCount} groups of 10, 64 B)`, DELIVERY_METRICS);
  for (const contender of suite.runs(ALL)) {
    await suite.withServer(contender, async (server, port) => {
      await suite.generator.call('connect', { port, protocol: contender.name, count, groupSize: 10 });
      const runGroups = (args: { rounds: number; rate?: number }) =>
        run(suite, server, args.rounds * count, 'groups', { ...args, groups: groupCount, size: 64 });
      suite.record(table, 'burst (one round of all groups per turn)', contender.name, await runGroups({ rounds: Math.max(1, Math.round(deliveries / count)) }));
      const rate = steadyRate / count;
      suite.record(
        table,
        `steady ${steadyRate / 1000}k msg/s`,
        contender.name,
        await runGroups({ rounds: Math.max(1, Math.round((rate * steadyMs) / 1000)), rate }),
      );
    });
  }
}
