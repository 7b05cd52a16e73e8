import type { Cluster, ClusterNode, Redis, RedisOptions } from 'ioredis';

interface NodeAddress {
  host: string;
  port: number;
}

/** A startup node as ioredis accepts it (`{ host, port }`, `'host:port'`, `port`, `'redis://host:port'`) as an address. */
function addressOf(node: ClusterNode): NodeAddress {
  if (typeof node === 'number') return { host: '127.0.0.1', port: node };
  if (typeof node === 'string') {
    const url = new URL(node.includes('://') ? node : `redis://${node}`);
    return { host: url.hostname || '127.0.0.1', port: Number(url.port) || 6379 };
  }
  return { host: node.host ?? '127.0.0.1', port: node.port ?? 6379 };
}

/**
 * The subscriber connection for a Redis Cluster: one plain connection to one node, since a SUBSCRIBE
 * on any node hears every PUBLISH of the cluster. While its node is unreachable it retries with the
 * backplane's backoff, each attempt at the next node the cluster knows of.
 *
 * ioredis's own cluster subscriber (what `Cluster` subscribes through) retries at once and without
 * end while no node answers, which keeps a core busy for as long as the whole cluster is down.
 */
export function clusterSubscriber(
  RedisClass: typeof Redis,
  publisher: Cluster,
  /** Where to look while the cluster client has not yet learned its nodes (none for a client handed in). */
  startupNodes: readonly ClusterNode[],
  options: RedisOptions,
  retryStrategy: (times: number) => number,
): Redis {
  const fallback = startupNodes.map(addressOf);
  const candidates = (): NodeAddress[] => {
    const known = publisher.nodes('all').map((node) => ({ host: node.options.host ?? '127.0.0.1', port: node.options.port ?? 6379 }));
    return known.length > 0 ? known : fallback;
  };
  let attempt = 0;
  const aimAt = (node: NodeAddress) => {
    // ioredis reads host and port from its options on every connect.
    subscriber.options.host = node.host;
    subscriber.options.port = node.port;
  };
  const known = candidates();
  const subscriber: Redis = new RedisClass({
    ...options,
    ...known[0],
    // A cluster client handed in without startup nodes of ours: connect once it knows its nodes.
    lazyConnect: known.length === 0,
    retryStrategy: (times) => {
      const nodes = candidates();
      if (nodes.length > 0) aimAt(nodes[++attempt % nodes.length]);
      return retryStrategy(times);
    },
  });
  if (known.length === 0) {
    publisher.once('ready', () => {
      const [node] = candidates();
      if (node !== undefined) aimAt(node);
      subscriber.connect().catch(() => undefined);
    });
  }
  return subscriber;
}
