import { ProtocolName } from '../load/wire-protocols.js';
import { sleep } from '../support/clock.js';
import { Suite } from '../support/suite.js';
import { run } from './broadcast.js';

const CONTENDERS: ProtocolName[] = ['signalr-json', 'raw-ws', 'socketio', 'nest-ws'];

/**
 * Workload 7: slow consumers. Healthy clients plus 10 that stop reading (their kernel buffers fill,
 * then the server's), under a steady 1 KB broadcast; the same run without the slow ones is the
 * reference. Reports the healthy clients' latency, the server's memory growth and how many
 * connections the server still holds at the end (a capped server drops the slow ones).
 */
export async function slowConsumers(suite: Suite): Promise<void> {
  const { full, smoke } = suite.options;
  const healthy = suite.options.connections ?? (smoke ? 20 : full ? 1000 : 200);
  const slow = smoke ? 2 : 10;
  const size = smoke ? 1024 : 16_384;
  const perConnectionRate = smoke ? 50 : 100; // broadcasts per second
  const durationMs = smoke ? 200 : full ? 20_000 : 6000;
  const table = suite.table('slow', `Slow consumers (${healthy} healthy + ${slow} that stop reading; ${perConnectionRate} broadcasts/s of ${size} B)`, [
    { key: 'p50', label: 'healthy p50 ms', digits: 2 },
    { key: 'p99', label: 'healthy p99 ms', digits: 2, ratio: true },
    { key: 'rss', label: 'server RSS growth MB', digits: 1 },
    { key: 'heapExt', label: 'heap+external growth after GC, MB', digits: 1, ratio: true },
    { key: 'left', label: 'connections left', digits: 0 },
    { key: 'lost', label: 'healthy lost', digits: 0 },
  ]);
  for (const contender of suite.runs(CONTENDERS)) {
    for (const slowCount of [0, slow]) {
      await suite.withServer(contender, async (server, port) => {
        await suite.generator.call('connect', { port, protocol: contender.name, count: healthy + slowCount, slow: slowCount });
        const start = (await server.call('gc')).memory;
        const sends = Math.round((perConnectionRate * durationMs) / 1000);
        const result = await run(suite, server, sends * healthy, 'broadcast', { sends, rate: perConnectionRate, size });
        await sleep(100);
        // After GC, so the growth is what the server still holds (queued bytes), not garbage.
        const end = await server.call('gc');
        suite.record(table, slowCount === 0 ? 'no slow consumers' : `${slowCount} slow consumers`, contender.name, {
          p50: result.p50,
          p99: result.p99,
          rss: (end.memory.rss - start.rss) / 2 ** 20,
          heapExt: (end.memory.heapUsed + end.memory.external - start.heapUsed - start.external) / 2 ** 20,
          left: end.connections,
          lost: result.lost,
        });
      });
    }
  }
  table.notes.push(
    'nestjs-signalr closes a connection with a Close message once its unsent bytes stay above maximumSendBufferSize (default 1 MiB) for sendBufferTimeout (5 s), or reach twice that size; the other stacks buffer without limit.',
  );
}
