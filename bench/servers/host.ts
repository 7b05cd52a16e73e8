import { now, sleep } from '../support/clock.js';
import { announceReady, serveCommands } from '../support/ipc.js';
import { readFileSync } from 'fs';
import { constants, PerformanceObserver } from 'perf_hooks';
import { collectGarbage } from '../support/memory.js';

/**
 * CPU time (ms) of the main (JavaScript) thread alone, from /proc (Linux; null elsewhere):
 * process.cpuUsage() also counts V8's helper threads (concurrent marking, compiling) and libuv's pool.
 */
function mainThreadCpuMs(): number | null {
  try {
    // Fields after the command name: utime and stime are the 14th and 15th fields, in clock ticks (100 per second).
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** Garbage collection pauses so far (ms on the main thread), and how many were full (mark-sweep) collections. */
const gcPauses = { ms: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcPauses.ms += entry.duration;
    const detail = (entry as unknown as { detail?: { kind?: number } }).detail;
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcPauses.major++;
  }
}).observe({ entryTypes: ['gc'] });

/** What each contender's server offers the benchmark: its port and the sends the workloads need. */
export interface BenchServer {
  readonly port: number;
  /** Sends one message to every connection, the way a user of this stack would. */
  broadcast(payload: BenchPayload): void;
  /** Sends one message to the members of one group (room). */
  sendToGroup(group: string, payload: BenchPayload): void;
  connectionCount(): number;
  /** What the OpenTelemetry exporters received (servers that can register the SDK). */
  telemetry?(): Promise<{ spans: number; metricExports: number }>;
  close(): Promise<void>;
}

/** The broadcast argument: a send timestamp (ms, see clock.ts) and padding up to the payload size. */
export interface BenchPayload {
  t: number;
  p: string;
}

/** Characters of `{"t":1763720000000.123,"p":""}` around the padding. */
const PAYLOAD_OVERHEAD = 30;

function padding(size: number): string {
  return 'x'.repeat(Math.max(0, size - PAYLOAD_OVERHEAD));
}

/**
 * Runs `sends` sends: `burst` per turn of the event loop as fast as possible (rate 0), or paced to
 * `rate` sends per second on a 1 ms timer. Resolves with the time the sends took.
 */
async function paced(sends: number, burst: number, rate: number, send: (i: number) => void): Promise<{ sent: number; ms: number }> {
  const start = now();
  let sent = 0;
  if (rate <= 0) {
    while (sent < sends) {
      const until = Math.min(sends, sent + burst);
      while (sent < until) send(sent++);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } else {
    while (sent < sends) {
      const due = Math.min(sends, Math.floor(((now() - start) / 1000) * rate) + 1);
      while (sent < due) send(sent++);
      if (sent < sends) await sleep(1);
    }
  }
  return { sent, ms: now() - start };
}

/**
 * Serves one contender for the orchestrator: starts it, announces its port, then answers commands
 * (sends, process CPU and memory, connection counts) over IPC.
 */
export async function hostServer(start: () => Promise<BenchServer>): Promise<void> {
  const server = await start();
  serveCommands({
    stats: () => ({
      cpu: process.cpuUsage(),
      mainThreadMs: mainThreadCpuMs(),
      gc: { ...gcPauses },
      memory: process.memoryUsage(),
      connections: server.connectionCount(),
    }),
    gc: async () => ({ memory: await collectGarbage(), connections: server.connectionCount() }),
    broadcast: ({ sends, burst = 10, rate = 0, size = 64 }) => {
      const pad = padding(size);
      return paced(sends, burst, rate, () => server.broadcast({ t: now(), p: pad }));
    },
    groups: ({ rounds, groups, burst = 1, rate = 0, size = 64 }) => {
      const pad = padding(size);
      const names = Array.from({ length: groups }, (_, i) => `g${i}`);
      return paced(rounds, burst, rate, () => {
        for (const name of names) server.sendToGroup(name, { t: now(), p: pad });
      });
    },
    waitConnections: async ({ count, timeoutMs = 30_000 }) => {
      const deadline = Date.now() + timeoutMs;
      while (server.connectionCount() !== count && Date.now() < deadline) await sleep(20);
      return server.connectionCount();
    },
    /** Writes a heap snapshot (after GC) for offline comparison; returns its path. */
    heapSnapshot: async ({ file }) => {
      await collectGarbage();
      return require('v8').writeHeapSnapshot(file);
    },
    telemetry: async () => (await server.telemetry?.()) ?? null,
    close: () => server.close(),
  });
  // A normal exit, so that --cpu-prof (BENCH_SERVER_NODE_ARGS) writes its profile.
  process.once('SIGTERM', () => process.exit(0));
  announceReady({ port: server.port, pid: process.pid });
}
