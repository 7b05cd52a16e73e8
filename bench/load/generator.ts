/*
 * The load generator: one process (pinned to its own core by the orchestrator) holding every client
 * connection, driven over IPC. It speaks each stack's protocol directly over `ws`, and SignalR's Long
 * Polling over Node's `http` with a keep-alive agent.
 */
import { now, sleep } from '../support/clock.js';
import { serveCommands, announceReady } from '../support/ipc.js';
import { LatencyRecorder } from '../support/recorder.js';
import type { BroadcastCounter } from './generator-connection.js';
import { LoadConnection } from './load-connection.js';
import { LongPollingConnection, negotiate } from './long-polling-connection.js';
import { ProtocolName, WIRE_PROTOCOLS, WireProtocol } from './wire-protocols.js';

type Connection = LoadConnection | LongPollingConnection;

let connections: Connection[] = [];
const latencies = new LatencyRecorder();

/** Counts broadcasts across all connections and keeps their publish-to-receive latency. */
const counter = new (class implements BroadcastCounter {
  received = 0;
  firstSentAt = Infinity;
  lastAt = 0;
  onBroadcast(sentAt: number): void {
    this.received++;
    const at = now();
    this.lastAt = at;
    if (sentAt < this.firstSentAt) this.firstSentAt = sentAt;
    latencies.record(at - sentAt);
  }
  reset(): void {
    this.received = 0;
    this.firstSentAt = Infinity;
    this.lastAt = 0;
    latencies.reset();
  }
})();

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

/** Local addresses to spread many connections over, past one address's ephemeral port range. */
function localAddressFor(index: number, total: number): string | undefined {
  if (total <= 20_000) return undefined;
  return `127.0.0.${1 + (index % 8)}`;
}

interface ConnectArgs {
  port: number;
  protocol: ProtocolName;
  count: number;
  slow?: number;
  groupSize?: number;
  concurrency?: number;
  /** SignalR only: negotiate first (as every official client does unless told to skip it). */
  negotiate?: boolean;
}

async function connect(args: ConnectArgs): Promise<{ opened: number; ms: number }> {
  const protocol = WIRE_PROTOCOLS[args.protocol];
  const start = now();
  const base = connections.length;
  const total = base + args.count;
  const slowFrom = total - (args.slow ?? 0);
  let next = base;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      let path = protocol.path;
      if (args.negotiate) path += `?id=${encodeURIComponent(await negotiate(args.port, protocol.negotiatePath!))}`;
      const connection = new LoadConnection(`ws://127.0.0.1:${args.port}${path}`, protocol, counter, localAddressFor(index, total));
      connections[index] = connection;
      await connection.opened();
      if (args.groupSize) await roundTrip(connection, protocol.joinFrame(`g${Math.floor(index / args.groupSize)}`));
      if (index >= slowFrom) connection.stopReading();
    }
  };
  await Promise.all(Array.from({ length: Math.min(args.concurrency ?? 50, args.count) }, worker));
  return { opened: connections.length - base, ms: now() - start };
}

/**
 * `count` SignalR connections over Long Polling. A connection that fails to open is counted with its
 * error instead of failing the command, so that a deployment which refuses some requests (a proxy
 * without affinity in front of instances that cannot serve another's connection) is reported as such.
 */
async function connectLongPolling(args: { port: number; protocol: ProtocolName; count: number; concurrency?: number }) {
  const protocol = WIRE_PROTOCOLS[args.protocol];
  const start = now();
  const failures: Record<string, number> = {};
  let opened = 0;
  let left = args.count;
  const worker = async () => {
    while (left > 0) {
      left--;
      const connection = new LongPollingConnection(args.port, protocol, counter);
      try {
        await connection.opened();
        connections.push(connection);
        opened++;
      } catch (error) {
        const message = (error as Error).message;
        failures[message] = (failures[message] ?? 0) + 1;
        connection.terminate();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(args.concurrency ?? 10, args.count) }, worker));
  return { opened, failed: args.count - opened, failures, ms: now() - start };
}

function roundTrip(connection: Connection, frame: Buffer): Promise<number> {
  return new Promise((resolve) => {
    connection.onReply = (ms) => {
      connection.onReply = null;
      resolve(ms);
    };
    connection.request(frame);
  });
}

let receiveCpu = process.cpuUsage();
let receiveStart = 0;

function startReceive(): void {
  counter.reset();
  receiveCpu = process.cpuUsage();
  receiveStart = now();
}

/** Waits for `expected` broadcasts, or until none arrived for `idleMs`. */
async function awaitReceive({ expected, idleMs = 3000 }: { expected: number; idleMs?: number }) {
  let seen = -1;
  let quietSince = now();
  while (counter.received < expected) {
    if (counter.received !== seen) {
      seen = counter.received;
      quietSince = now();
    } else if (now() - quietSince > idleMs) break;
    await sleep(5);
  }
  const ms = counter.lastAt - Math.min(counter.firstSentAt, counter.lastAt);
  const wall = now() - receiveStart;
  return {
    received: counter.received,
    ms,
    latency: latencies.summary(),
    generatorCpu: cpuMs(process.cpuUsage(receiveCpu)) / wall,
  };
}

/**
 * Echo round trips from the first `clients` connections for `durationMs`: closed loop when rate is 0
 * (each client keeps `depth` frames outstanding, each carrying `batch` invocations, and sends the next
 * when one is fully answered), else open loop at `rate` single calls per second overall. Latency is
 * per frame: from its send to its last completion. `calls` counts every call answered after the
 * warm-up, those the drain waited for included, for figures per call over the whole exchange;
 * `wallMs` is the time from the start to the end of the drain.
 */
async function echo({ clients, durationMs, size = 32, rate = 0, batch = 1, depth = 1 }: EchoArgs) {
  const users = connections.slice(0, clients);
  const protocol = WIRE_PROTOCOLS[protocolOf];
  const single = protocol.echoFrame(size);
  if (batch > 1 && protocol.echoBatch === undefined) throw new Error(`${protocolOf} cannot batch calls in one frame`);
  const frame = batch > 1 ? protocol.echoBatch!(size, batch) : single;
  const recorder = new LatencyRecorder();
  let completed = 0;
  let calls = 0;
  let running = true;
  const cpu = process.cpuUsage();
  // Warm up each connection with one call, so connection setup is not in the figures. One that ends
  // instead (a Long Polling request refused) or gets no answer takes no further part and is reported.
  await Promise.all(
    users.map(async (user) => {
      const answered = await Promise.race([roundTrip(user, single).then(() => true), user.closed.then(() => true), sleep(UNANSWERED_MS).then(() => false)]);
      if (answered) return;
      if (!(user instanceof LongPollingConnection)) throw new Error(`no answer to the warm-up call within ${UNANSWERED_MS} ms`);
      user.abandon(`no answer to the warm-up call within ${UNANSWERED_MS} ms`);
    }),
  );
  const start = now();
  for (const user of users) {
    user.answeredBy(batch);
    user.onReply = (ms) => {
      calls += batch;
      if (running) completed += batch;
      recorder.record(ms);
      if (running && rate === 0) user.request(frame);
    };
  }
  if (rate === 0) {
    for (let i = 0; i < depth; i++) for (const user of users) user.request(frame);
    await sleep(durationMs);
  } else {
    let sent = 0;
    let turn = 0;
    while (now() - start < durationMs) {
      const due = Math.floor(((now() - start) / 1000) * rate);
      while (sent < due) {
        users[turn++ % users.length].request(frame);
        sent++;
      }
      await sleep(1);
    }
  }
  running = false;
  const ms = now() - start;
  const deadline = now() + 5000;
  while (users.some((user) => user.outstanding > 0) && now() < deadline) await sleep(5);
  for (const user of users) {
    if (user instanceof LongPollingConnection && user.outstanding > 0) user.abandon(`${user.outstanding} call(s) unanswered 5 s after the run`);
    user.onReply = null;
    user.answeredBy(1);
  }
  const failures: Record<string, number> = {};
  for (const user of users) {
    const message = user instanceof LongPollingConnection ? user.failure?.message : undefined;
    if (message !== undefined) failures[message] = (failures[message] ?? 0) + 1;
  }
  const failed = Object.values(failures).reduce((sum, count) => sum + count, 0);
  const wallMs = now() - start;
  return { completed, calls, failed, failures, ms, wallMs, latency: recorder.summary(), generatorCpu: cpuMs(process.cpuUsage(cpu)) / wallMs };
}

interface EchoArgs {
  clients: number;
  durationMs: number;
  size?: number;
  rate?: number;
  batch?: number;
  depth?: number;
}

let protocolOf: ProtocolName = 'raw-ws';

/** How long a call may go unanswered before its connection counts as failed. */
const UNANSWERED_MS = 10_000;

async function closeAll(): Promise<{ closed: number }> {
  const closing = connections;
  connections = [];
  for (const connection of closing) connection.close();
  const all = Promise.all(closing.map((connection) => connection.closed));
  const timedOut = await Promise.race([all.then(() => false), sleep(10_000).then(() => true)]);
  if (timedOut) for (const connection of closing) connection.terminate();
  return { closed: closing.length };
}

/** One connection's life: negotiate (SignalR), connect, handshake, one call, close. */
async function churnOnce(port: number, protocol: WireProtocol): Promise<void> {
  let path = protocol.path;
  if (protocol.negotiatePath !== undefined) path += `?id=${encodeURIComponent(await negotiate(port, protocol.negotiatePath))}`;
  const connection = new LoadConnection(`ws://127.0.0.1:${port}${path}`, protocol, counter);
  await connection.opened();
  await roundTrip(connection, protocol.echoFrame(32));
  connection.close();
  await connection.closed;
}

async function churn({ port, protocol, durationMs, concurrency = 10 }: { port: number; protocol: ProtocolName; durationMs: number; concurrency?: number }) {
  const wire = WIRE_PROTOCOLS[protocol];
  const recorder = new LatencyRecorder();
  let cycles = 0;
  let errors = 0;
  let lastError = '';
  const start = now();
  const cpu = process.cpuUsage();
  const worker = async () => {
    while (now() - start < durationMs) {
      const began = now();
      try {
        await churnOnce(port, wire);
        cycles++;
        recorder.record(now() - began);
      } catch (error) {
        errors++;
        lastError = String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = now() - start;
  return { cycles, errors, lastError, ms, latency: recorder.summary(), generatorCpu: cpuMs(process.cpuUsage(cpu)) / ms };
}

serveCommands({
  connect: (args) => {
    protocolOf = args.protocol;
    return connect(args);
  },
  connectLongPolling: (args) => {
    protocolOf = args.protocol;
    return connectLongPolling(args);
  },
  startReceive,
  awaitReceive,
  echo,
  churn,
  closeAll,
  count: () => connections.length,
});
// A normal exit, so that --cpu-prof (BENCH_GENERATOR_NODE_ARGS) writes its profile.
process.once('SIGTERM', () => process.exit(0));
announceReady({ pid: process.pid });
