/*
 * `nestjs-signalr/redis`: scale-out over Redis, an entry of its own so that only apps that use it
 * need `ioredis` (an optional peer dependency) installed, and the main entry's types never name it.
 */
export { redisBackplane } from './redis-backplane.js';
export type { RedisBackplaneOptions } from './redis-backplane.js';
