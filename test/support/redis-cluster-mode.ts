import { ChildProcess, execFile } from 'child_process';
import { createServer } from 'net';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { promisify } from 'util';
import { freePort, launch } from './redis.js';

const run = promisify(execFile);

/** A private Redis Cluster (Redis in cluster mode, masters only) on free ports, for one test file. */
export interface RedisClusterServer {
  /** The startup nodes to give ioredis. */
  readonly nodes: Array<{ host: string; port: number }>;
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

function launchClusterNode(port: number, dir: string): Promise<ChildProcess> {
  return launch(port, ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--dir', dir]);
}

/** Starts `size` cluster-mode redis-servers, joins them into one cluster and waits until it serves every slot. */
export async function startRedisCluster(size = 3): Promise<RedisClusterServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'signalr-redis-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const close = async () => {
    await Promise.all(
      children.map((child) => new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      })),
    );
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
    for (const port of ports) {
      for (let attempt = 0; ; attempt++) {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
        if (stdout.includes('cluster_state:ok')) break;
        if (attempt > 200) throw new Error(`Redis Cluster node ${port} never reached cluster_state:ok`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), close };
}
