import { ALL } from '../support/contenders.js';
import { sleep } from '../support/clock.js';
import { feasibleCounts, Suite } from '../support/suite.js';

/**
 * Workload 4: memory per idle connection. After a forced GC (three rounds): the server's heap and RSS
 * before, with N handshaken idle connections, and after all of them disconnected.
 */
export async function memory(suite: Suite): Promise<void> {
  const { full, smoke } = suite.options;
  const counts = suite.options.connections ? [suite.options.connections] : smoke ? [20] : full ? [10_000, 50_000] : [1000];
  const table = suite.table('memory', 'Memory per idle connection (after forced GC)', [
    { key: 'heap', label: 'heap B/conn', digits: 0, ratio: true },
    { key: 'rss', label: 'RSS B/conn', digits: 0, ratio: true },
    { key: 'external', label: 'external B/conn', digits: 0 },
    { key: 'heapAfter', label: 'heap after close, % of start', digits: 1 },
    { key: 'rssAfter', label: 'RSS after close, % of start', digits: 1 },
    { key: 'connectMs', label: 'connect all, ms', digits: 0 },
  ]);
  const feasible = feasibleCounts(table, counts);
  for (const contender of suite.runs(ALL)) {
    for (const count of feasible) {
      await suite.withServer(contender, async (server, port) => {
        const start = (await server.call('gc')).memory;
        const opened = await suite.generator.call('connect', { port, protocol: contender.name, count, concurrency: 100 });
        await server.call('waitConnections', { count });
        const loaded = (await server.call('gc')).memory;
        await suite.generator.call('closeAll');
        await server.call('waitConnections', { count: 0 });
        await sleep(smoke ? 50 : 500);
        const after = (await server.call('gc')).memory;
        suite.record(table, `${count} connections`, contender.name, {
          heap: (loaded.heapUsed - start.heapUsed) / count,
          rss: (loaded.rss - start.rss) / count,
          external: (loaded.external - start.external) / count,
          heapAfter: (100 * after.heapUsed) / start.heapUsed,
          rssAfter: (100 * after.rss) / start.rss,
          connectMs: opened.ms,
        });
      });
    }
  }
  table.notes.push('"% of start": the server process after every connection closed, against the same process before the first one opened.');
}
