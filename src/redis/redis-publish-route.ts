import type { Cluster, Redis } from 'ioredis';

/**
 * Where an instance's PUBLISHes go, and how many subscribers a channel has.
 *
 * On one Redis (or a primary with replicas) both are the client's own answers. A Redis Cluster
 * forwards every PUBLISH to every node over its bus, but the node a PUBLISH enters matters twice:
 * - Order: ioredis sends a command without keys to a random node, and two messages that enter
 *   different nodes reach a subscriber over different links, so the second can overtake the first.
 *   Every PUBLISH of an instance therefore enters the same primary, which keeps the order of all its
 *   sends, across channels too, as on a single Redis.
 * - Counting: a PUBLISH counts only the subscribers of the node it entered. Where that count is zero
 *   (the subscriber may sit on another node), every node is asked (PUBSUB NUMSUB) before a channel is
 *   taken as unsubscribed.
 */
export interface PublishRoute {
  /** Resolves with the subscribers that received it, as far as the entry node knows. */
  publish(channel: string, payload: Buffer): Promise<number>;
  /** Publishes and resolves with the subscribers of `channel` anywhere in the deployment. */
  publishCounted(channel: string, payload: Buffer): Promise<number>;
}

/** The route for `client`: direct for one Redis, through one chosen primary for a Redis Cluster. */
export function publishRoute(client: Redis | Cluster, instanceName: string): PublishRoute {
  return isCluster(client) ? new ClusterPublishRoute(client, instanceName) : new DirectPublishRoute(client);
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as Cluster).isCluster === true;
}

class DirectPublishRoute implements PublishRoute {
  constructor(private readonly client: Redis) {}

  publish(channel: string, payload: Buffer): Promise<number> {
    return this.client.publish(channel, payload);
  }

  publishCounted(channel: string, payload: Buffer): Promise<number> {
    return this.client.publish(channel, payload);
  }
}

/** Node states from which a node's queued command will be written once it connects. */
const USABLE = new Set(['ready', 'wait', 'connect', 'connecting']);

class ClusterPublishRoute implements PublishRoute {
  private entry: Redis | null = null;
  /** Spreads instances over the primaries while each keeps to one. */
  private readonly spread: number;

  constructor(
    private readonly cluster: Cluster,
    instanceName: string,
  ) {
    let hash = 0;
    for (let i = 0; i < instanceName.length; i++) hash = (hash * 31 + instanceName.charCodeAt(i)) >>> 0;
    this.spread = hash;
    // A resharding or failover can retire the entry node: choose again on the next publish.
    cluster.on('-node', (node: Redis) => {
      if (node === this.entry) this.entry = null;
    });
  }

  publish(channel: string, payload: Buffer): Promise<number> {
    const entry = this.entryNode();
    return entry === null ? this.cluster.publish(channel, payload) : entry.publish(channel, payload);
  }

  async publishCounted(channel: string, payload: Buffer): Promise<number> {
    const here = await this.publish(channel, payload);
    if (here > 0) return here;
    const counts = await Promise.all(
      this.cluster.nodes('all').map((node) => node.call('PUBSUB', 'NUMSUB', channel).then((reply) => Number((reply as unknown[])[1]) || 0)),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** The primary this instance publishes through: kept while it stays usable, so that order holds. */
  private entryNode(): Redis | null {
    if (this.entry !== null && USABLE.has(this.entry.status)) return this.entry;
    const primaries = this.cluster.nodes('master');
    if (primaries.length === 0) return (this.entry = null);
    const key = (node: Redis) => `${node.options.host}:${node.options.port}`;
    primaries.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const ready = primaries.filter((node) => node.status === 'ready');
    const pool = ready.length > 0 ? ready : primaries;
    return (this.entry = pool[this.spread % pool.length]);
  }
}
