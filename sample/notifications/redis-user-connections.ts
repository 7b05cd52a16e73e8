import type { Redis } from 'ioredis';
import { UserConnections } from './user-connections.js';

/** How many of a user's connections a caller gets to try, newest first. */
const CANDIDATES = 10;

const key = (user: string) => `sample:notifications:connections:${user}`;

/**
 * A user's notification connections on every instance of the cluster, in a Redis sorted set per user
 * scored by when each opened: the newest is on whichever instance holds it, and
 * `clients.client(id).invoke` reaches it there through the Redis backplane.
 */
export class RedisUserConnections extends UserConnections {
  constructor(private readonly redis: Redis) {
    super();
  }

  async add(user: string, connectionId: string): Promise<void> {
    await this.redis.zadd(key(user), Date.now(), connectionId);
  }

  async remove(user: string, connectionId: string): Promise<void> {
    await this.redis.zrem(key(user), connectionId);
  }

  newestFirst(user: string): Promise<string[]> {
    return this.redis.zrevrange(key(user), 0, CANDIDATES - 1);
  }
}
