/*
 * The load generator: one process (pinned to its own core by the orchestrator) holding every client
 * connection, driven over IPC. It speaks each stack's protocol directly over `ws`.
 */
import * as http from 'http';
import { now, sleep } from '../support/clock.js';
import { serveCommands, announceReady } from '../support/ipc.js';
import { LatencyRecorder } from '../support/recorder.js';
import { BroadcastCounter, LoadConnection } from './load-connection.js';
import { ProtocolName, WIRE_PROTOCOLS, WireProtocol } from './wire-protocols.js';

let connections: LoadConnection[] = [];
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

async function connect(args: {
  port: number;
  protocol: ProtocolName;
  count: number;
  slow?: number;
  groupSize?: number;
  concurrency?: number;
}): Promise<{ opened: number; ms: number }> {
  const protocol = WIRE_PROTOCOLS[args.protocol];
  const url = `ws://127.0.0.1:${args.port}${protocol.path}`;
  const start = now();
  const base = connections.length;
  const total = base + args.count;
  const slowFrom = total - (args.slow ?? 0);
  let next = base;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      const connection = new LoadConnection(url, protocol, counter, localAddressFor(index, total));
      connections[index] = connection;
      await connection.opened();
      if (args.groupSize) await roundTrip(connection, protocol.joinFrame(`g${Math.floor(index / args.groupSize)}`));
      if (index >= slowFrom) connection.stopReading();
    }
  };
  await Promise.all(Array.from({ length: Math.min(args.concurrency ?? 50, args.count) }, worker));
  return { opened: connections.length - base, ms: now() - start };
}

function roundTrip(connection: LoadConnection, frame: Buffer): Promise<number> {
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
 * Echo round trips from the first `clients` connections for `durationMs`: closed loop (one
 * outstanding call per client) when rate is 0, else open loop at `rate` calls per second overall.
 */
async function echo({ clients, durationMs, size = 32, rate = 0 }: { clients: number; durationMs: number; size?: number; rate?: number }) {
  const users = connections.slice(0, clients);
  const protocol = WIRE_PROTOCOLS[protocolOf];
  const frame = protocol.echoFrame(size);
  const recorder = new LatencyRecorder();
  let completed = 0;
  let running = true;
  const cpu = process.cpuUsage();
  // Warm up each connection with one call, so connection setup is not in the figures.
  await Promise.all(users.map((user) => roundTrip(user, frame)));
  const start = now();
  for (const user of users) {
    user.onReply = (ms) => {
      completed++;
      recorder.record(ms);
      if (running && rate === 0) user.request(frame);
    };
  }
  if (rate === 0) {
    for (const user of users) user.request(frame);
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
  const done = completed;
  const deadline = now() + 5000;
  while (users.some((user) => user.outstanding > 0) && now() < deadline) await sleep(5);
  for (const user of users) user.onReply = null;
  return { completed: done, ms, latency: recorder.summary(), generatorCpu: cpuMs(process.cpuUsage(cpu)) / (now() - start) };
}

let protocolOf: ProtocolName = 'raw-ws';

async function closeAll(): Promise<{ closed: number }> {
  const closing = connections;
  connections = [];
  for (const connection of closing) connection.close();
  const all = Promise.all(closing.map((connection) => connection.closed));
  const timedOut = await Promise.race([all.then(() => false), sleep(10_000).then(() => true)]);
  if (timedOut) for (const connection of closing) connection.terminate();
  return { closed: closing.length };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function negotiate(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(new Error(`negotiate ${response.statusCode}`));
        resolve(JSON.parse(body).connectionToken);
      });
    });
    request.on('error', reject);
    request.end();
  });
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
  startReceive,
  awaitReceive,
  echo,
  churn,
  closeAll,
  count: () => connections.length,
});
announceReady({ pid: process.pid });
