import { Logger } from '@nestjs/common';
import { createHash } from 'crypto';
import type { HubPresence, PresenceEvent, PresenceSubscription } from '../lifetime/hub-presence.js';
import { PresenceListeners, presenceSubscription } from '../lifetime/hub-presence.js';
import type { RedisChannels } from './redis-channels.js';
import type { RedisLink } from './redis-link.js';
import { RedisTexts } from './redis-texts.js';

/*
 * Keys, all under one hash tag (one Cluster slot):
 *   {k}:servers         sorted set: instance name -> when its entries expire (ms, Redis's clock)
 *   {k}:users           hash: user id -> connections on every live instance
 *   {k}:server:{name}   hash: user id -> connections on that instance
 * Every script first reaps instances whose time passed: their counts leave the totals, `left` is
 * published for users that drop to zero, and their hash goes. So a dead instance leaves no ghosts
 * once three heartbeats were missed, whichever instance runs a script next.
 */
const REAP = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, server in ipairs(dead) do
  local key = ARGV[1] .. server
  local entries = redis.call('HGETALL', key)
  for i = 1, #entries, 2 do
    local total = redis.call('HINCRBY', KEYS[2], entries[i], -tonumber(entries[i + 1]))
    if total <= 0 then
      redis.call('HDEL', KEYS[2], entries[i])
      redis.call('PUBLISH', ARGV[2], '-' .. entries[i])
    end
  end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], server)
end
`;

/** KEYS servers, users; ARGV serverKeyPrefix, channel, server, userId, delta. -1: this instance is unknown (resync). */
const CHANGE = `${REAP}
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then return -1 end
local key = ARGV[1] .. ARGV[3]
local delta = tonumber(ARGV[5])
if redis.call('HINCRBY', key, ARGV[4], delta) <= 0 then redis.call('HDEL', key, ARGV[4]) end
local total = redis.call('HINCRBY', KEYS[2], ARGV[4], delta)
if total <= 0 then redis.call('HDEL', KEYS[2], ARGV[4]) end
if delta > 0 and total == delta then redis.call('PUBLISH', ARGV[2], '+' .. ARGV[4]) end
if delta < 0 and total <= 0 then redis.call('PUBLISH', ARGV[2], '-' .. ARGV[4]) end
return total
`;

/** KEYS servers, users; ARGV serverKeyPrefix, channel, server, ttl, then user/count pairs: replaces this instance's entries. */
const SYNC = `${REAP}
local key = ARGV[1] .. ARGV[3]
local counts = {}
local old = redis.call('HGETALL', key)
for i = 1, #old, 2 do counts[old[i]] = -tonumber(old[i + 1]) end
for i = 5, #ARGV, 2 do counts[ARGV[i]] = (counts[ARGV[i]] or 0) + tonumber(ARGV[i + 1]) end
redis.call('DEL', key)
for i = 5, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
for user, delta in pairs(counts) do
  if delta ~= 0 then
    local before = tonumber(redis.call('HGET', KEYS[2], user) or '0')
    local total = redis.call('HINCRBY', KEYS[2], user, delta)
    if total <= 0 then redis.call('HDEL', KEYS[2], user) end
    if before <= 0 and total > 0 then redis.call('PUBLISH', ARGV[2], '+' .. user) end
    if before > 0 and total <= 0 then redis.call('PUBLISH', ARGV[2], '-' .. user) end
  end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
return 1
`;

/** KEYS servers, users; ARGV serverKeyPrefix, channel, server, ttl. 0: this instance was reaped (resync). */
const HEARTBEAT = `${REAP}
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
return 1
`;

/** KEYS servers, users; ARGV serverKeyPrefix, channel, server: removes this instance's entries. */
const LEAVE = `${REAP}
local key = ARGV[1] .. ARGV[3]
local entries = redis.call('HGETALL', key)
for i = 1, #entries, 2 do
  local total = redis.call('HINCRBY', KEYS[2], entries[i], -tonumber(entries[i + 1]))
  if total <= 0 then
    redis.call('HDEL', KEYS[2], entries[i])
    redis.call('PUBLISH', ARGV[2], '-' .. entries[i])
  end
end
redis.call('DEL', key)
redis.call('ZREM', KEYS[1], ARGV[3])
return 1
`;

/** KEYS servers, users; ARGV serverKeyPrefix, channel, userId or '': the totals after reaping. */
const READ = `${REAP}
if ARGV[3] ~= '' then return redis.call('HGET', KEYS[2], ARGV[3]) end
return redis.call('HGETALL', KEYS[2])
`;

const hashes = new Map<string, string>();
function sha1(script: string): string {
  let hash = hashes.get(script);
  if (hash === undefined) hashes.set(script, (hash = createHash('sha1').update(script).digest('hex')));
  return hash;
}

/**
 * Presence of one hub across the cluster. Counts change with one script per local connect or
 * disconnect of a user; the full local counts are written again after every reconnect to Redis and
 * whenever a heartbeat finds this instance reaped (it was silent too long), so the totals heal.
 */
export class RedisPresence implements HubPresence {
  private readonly logger = new Logger('SignalR:Redis');
  private readonly local = new Map<string, number>();
  private readonly listeners = new PresenceListeners();
  private readonly keys: [string, string];
  private readonly serverKeyPrefix: string;
  private readonly ttl: number;
  private timer: NodeJS.Timeout | null = null;
  private listening: Promise<void> | null = null;

  constructor(
    private readonly link: RedisLink,
    private readonly channels: RedisChannels,
    private readonly heartbeat: number,
  ) {
    const base = channels.presenceKey;
    this.keys = [`${base}:servers`, `${base}:users`];
    this.serverKeyPrefix = `${base}:server:`;
    this.ttl = heartbeat * 3;
  }

  /** Registers this instance and starts its heartbeat. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.beat(), this.heartbeat);
    this.timer.unref();
    this.sync();
  }

  /** Stops the heartbeat and removes this instance's entries (its users leave unless connected elsewhere). */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.local.clear();
    if (this.listening !== null) this.link.unlisten(this.channels.presence);
    this.listening = null;
    await this.run(LEAVE, [this.link.serverName]).catch(() => undefined);
  }

  changed(userId: string, delta: 1 | -1): void {
    const count = (this.local.get(userId) ?? 0) + delta;
    if (count <= 0) this.local.delete(userId);
    else this.local.set(userId, count);
    if (!this.link.isUp) return; // written by the sync that follows the reconnect
    this.run(CHANGE, [this.link.serverName, userId, String(delta)]).then(
      (total) => {
        if (total === -1) this.sync();
      },
      () => undefined,
    );
  }

  /** Writes every local count again (after a reconnect, or when this instance was reaped). */
  sync(): void {
    if (!this.link.isUp) return;
    const pairs: string[] = [];
    for (const [userId, count] of this.local) pairs.push(userId, String(count));
    this.run(SYNC, [this.link.serverName, String(this.ttl), ...pairs]).catch((error) => this.logger.debug(`Presence sync failed: ${error}`));
  }

  onlineUsers(): Promise<Map<string, number>> {
    return this.read('').then((reply) => {
      const entries = (reply as string[] | null) ?? [];
      const users = new Map<string, number>();
      for (let i = 0; i + 1 < entries.length; i += 2) users.set(entries[i], Number(entries[i + 1]));
      return users;
    });
  }

  connectionCount(userId: string): Promise<number> {
    return this.read(userId).then((reply) => (reply === null ? 0 : Math.max(0, Number(reply))));
  }

  subscribe(listener: (event: PresenceEvent) => void): PresenceSubscription {
    const remove = this.listeners.add(listener);
    this.listening ??= this.link.listen(this.channels.presence, (message) => {
      const text = message.toString();
      this.listeners.emit(text[0] === '+' ? 'joined' : 'left', text.slice(1));
    });
    return presenceSubscription(() => {
      remove();
      if (this.listeners.size === 0 && this.listening !== null) {
        this.listening = null;
        this.link.unlisten(this.channels.presence);
      }
    }, this.listening);
  }

  private beat(): void {
    if (!this.link.isUp) return;
    this.run(HEARTBEAT, [this.link.serverName, String(this.ttl)]).then(
      (alive) => {
        if (alive === 0) this.sync();
      },
      () => undefined,
    );
  }

  private read(userId: string): Promise<unknown> {
    if (!this.link.isUp) return Promise.reject(new Error(RedisTexts.unavailable));
    return this.run(READ, [userId]);
  }

  /** EVALSHA (the script text travels once per Redis start), EVAL when Redis does not know it yet. */
  private run(script: string, args: string[]): Promise<unknown> {
    const argv = [...this.keys, this.serverKeyPrefix, this.channels.presence, ...args];
    const publisher = this.link.publisher;
    return (publisher.evalsha(sha1(script), 2, ...argv) as Promise<unknown>).catch((error: Error) => {
      if (!String(error?.message).startsWith('NOSCRIPT')) throw error;
      return publisher.eval(script, 2, ...argv) as Promise<unknown>;
    });
  }
}
