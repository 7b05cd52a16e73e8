import type { HubConnection } from '@microsoft/signalr';
import { NginxProxy, startNginx } from './nginx.js';
import { ClusterInstance, killInstances, RedisServer, startInstance, startRedis } from './redis.js';

/** App instances (test/fixtures/redis-cluster.app.js) on one real Redis behind a round-robin nginx. */
export interface ProxiedCluster {
  readonly redis: RedisServer;
  readonly instances: ClusterInstance[];
  readonly proxy: NginxProxy;
}

/** Starts Redis, `count` instances with `env` (e.g. their shared CONNECTION_TOKEN_SECRET), and nginx in front of them. */
export async function startProxiedCluster(count: number, env: Record<string, string>): Promise<ProxiedCluster> {
  const redis = await startRedis();
  const instances = await Promise.all(Array.from({ length: count }, () => startInstance(redis.url, env)));
  const proxy = await startNginx(instances.map((instance) => instance.port));
  return { redis, instances, proxy };
}

/** Stops the clients a spec opened, then nginx, every instance and Redis (whatever of them started). */
export async function stopProxiedCluster(cluster: Partial<ProxiedCluster> | undefined, opened: Iterable<HubConnection>): Promise<void> {
  await Promise.all([...opened].map((connection) => connection.stop().catch(() => undefined)));
  await cluster?.proxy?.stop();
  await killInstances();
  await cluster?.redis?.close();
}
