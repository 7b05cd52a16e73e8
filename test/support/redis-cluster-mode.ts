import { ChildProcess, execFile } from 'child_process';
import { createServer } from 'net';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { promisify } from 'util';
import { exited, freePort } from './processes.js';
import { launch } from './redis.js';

const run = promisify(execFile);

/** A private Redis Cluster (Redis in cluster mode, masters only) on free ports, for one test file. */
export interface RedisClusterServer {
  /** The startup nodes to give ioredis. */
  readonly nodes: Array<{ host: string; port: number }>;
  /** Kills node `index` like a crash (SIGKILL); its nodes-<port>.conf stays, its dataset is lost. */
  stop(index: number): Promise<void>;
  /** Starts node `index` again on its port with its nodes-<port>.conf: the same node id and slots. */
  start(index: number): Promise<void>;
  /** Resolves once every running node reports cluster_state:ok (polling, up to `timeoutMs`). */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** A redis-cli command on node `index`, e.g. `['cluster', 'keyslot', 'x']`: its stdout. */
  cli(index: number, args: string[]): Promise<string>;
  close(): Promise<void>;
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10000 > 65535) continue;
    const bus = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port + 10000, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (bus) return port;
  }
}

/** Polls `cluster info` on each port until it reports cluster_state:ok. */
async function waitForOk(ports: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    for (;;) {
      const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']).catch(() => ({ stdout: '' }));
      if (stdout.includes('cluster_state:ok')) break;
      if (Date.now() > deadline) throw new Error(`Redis Cluster node ${port} never reached cluster_state:ok`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function launchClusterNode(port: number, dir: string): Promise<ChildProcess> {
  return launch(port, ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--dir', dir]);
}

/** Starts `size` cluster-mode redis-servers, joins them into one cluster and waits until it serves every slot. */
export async function startRedisCluster(size = 3): Promise<RedisClusterServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'signalr-redis-cluster-'));
  const children: Array<ChildProcess | null> = [];
  const ports: number[] = [];
  const stop = async (index: number) => {
    const child = children[index];
    children[index] = null;
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
  };
  const close = async () => {
    await Promise.all(children.map((_, index) => stop(index)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      const port = await freeClusterPort();
      children.push(await launchClusterNode(port, dir));
      ports.push(port);
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    // Each node must see the whole cluster as ok before clients follow its slot map.
    await waitForOk(ports, 10_000);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    stop,
    async start(index) {
      if (children[index]) return;
      children[index] = await launchClusterNode(ports[index], dir);
    },
    waitUntilOk: (timeoutMs = 15_000) =>
      waitForOk(
        ports.filter((_, index) => children[index] !== null),
        timeoutMs,
      ),
    cli: async (index, args) => (await run('redis-cli', ['-p', String(ports[index]), ...args])).stdout,
    close,
  };
}
