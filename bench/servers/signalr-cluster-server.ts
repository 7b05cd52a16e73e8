/*
 * nestjs-signalr in BENCH_WORKERS worker processes of Node's `cluster` module on one port, one Redis
 * (REDIS_URL): the way `npm run start:cluster` runs the sample. Each worker is signalr-server.ts
 * unchanged (its IPC commands reach this primary instead of the orchestrator); this primary answers
 * the orchestrator for all of them: `stats` sums the CPU time of the primary (which accepts every TCP
 * connection and hands it to the next worker) and of every worker, and `workers` gives each worker's
 * share.
 */
import cluster, { Worker } from 'cluster';
import * as path from 'path';
import { announceReady, serveCommands } from '../support/ipc.js';

interface WorkerStats {
  cpu: NodeJS.CpuUsage;
  memory: NodeJS.MemoryUsage;
  connections: number;
}

/** One worker driven over the cluster's IPC channel with the orchestrator's own request format. */
class WorkerLink {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: { ok: boolean; result?: unknown; error?: string }) => void>();
  readonly ready: Promise<{ port: number }>;

  constructor(readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => {
      worker.on('message', (message: any) => {
        if (message?.ready) return resolve(message);
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      });
      worker.once('exit', (code, signal) => reject(new Error(`worker ${worker.id} exited (${signal ?? code})`)));
    });
  }

  call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) => (reply.ok ? resolve(reply.result as T) : reject(new Error(reply.error))));
      this.worker.send({ id, cmd, args });
    });
  }
}

async function primary(): Promise<void> {
  const count = Number(process.env.BENCH_WORKERS ?? 2);
  if (!process.env.REDIS_URL) throw new Error('REDIS_URL is required: the workers are one cluster on Redis');
  // The workers inherit this process's node flags (-r ts-register, --expose-gc, BENCH_SERVER_NODE_ARGS).
  cluster.setupPrimary({ exec: path.join(__dirname, 'signalr-server.ts') });
  const links = Array.from({ length: count }, () => new WorkerLink(cluster.fork()));
  // Every worker listens on port 0 of 127.0.0.1: in a cluster that is one port, chosen once.
  const ports = new Set((await Promise.all(links.map((link) => link.ready))).map(({ port }) => port));
  if (ports.size !== 1) throw new Error(`the workers listen on different ports: ${[...ports].join(', ')}`);
  const all = <T>(cmd: string) => Promise.all(links.map((link) => link.call<T>(cmd)));
  serveCommands({
    stats: async () => {
      const workers = await all<WorkerStats>('stats');
      const own = process.cpuUsage();
      return {
        cpu: workers.reduce((sum, { cpu }) => ({ user: sum.user + cpu.user, system: sum.system + cpu.system }), own),
        connections: workers.reduce((sum, { connections }) => sum + connections, 0),
        primaryCpu: own,
        workers,
      };
    },
    gc: () => all('gc'),
  });
  const stopAll = () => {
    for (const link of links) link.worker.process.kill('SIGTERM');
    process.exit(0);
  };
  process.once('SIGTERM', stopAll);
  announceReady({ port: [...ports][0], pid: process.pid, workers: count });
}

if (cluster.isPrimary) {
  primary().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
