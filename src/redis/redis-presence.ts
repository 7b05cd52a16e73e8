import { Logger } from '@nestjs/common';
import { createHash } from 'crypto';
import type { HubPresence, PresenceEvent, PresenceSubscription } from '../lifetime/hub-presence.js';
import { PresenceListeners, presenceSubscription } from '../lifetime/hub-presence.js';
import type { RedisChannels } from './redis-channels.js';
import type { RedisLink } from './redis-link.js';
import { PresenceView } from './redis-presence-view.js';
import { describeError, logEvent } from '../logging/log-event.js';
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
local function drop_server(server)
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
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, server in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do drop_server(server) end
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

/**
 * KEYS servers, users; ARGV serverKeyPrefix, channel, server, ttl, then user/count pairs: replaces
 * this instance's entries; returns the live instances. An instance that registers anew is published
 * as `*name`, so that listeners know whom to wait for after an outage.
 */
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
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then redis.call('PUBLISH', ARGV[2], '*' .. ARGV[3]) end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

/** KEYS servers, users; ARGV serverKeyPrefix, channel, server, ttl. The live instances, or 0: this instance was reaped (resync). */
const HEARTBEAT = `${REAP}
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

/** KEYS servers, users; ARGV serverKeyPrefix, channel: the live instances. */
const SERVERS = `${REAP}
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

/** KEYS servers, users; ARGV serverKeyPrefix, channel, server: removes this instance's entries. */
const LEAVE = `${REAP}
drop_server(ARGV[3])
return 1
`;

/** KEYS servers, users; ARGV serverKeyPrefix, channel: { live instances, user/count pairs }. */
const SNAPSHOT = `${REAP}
return { redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('HGETALL', KEYS[2]) }
`;

/** KEYS servers, users; ARGV serverKeyPrefix, channel: how many users are online, after reaping. */
const COUNT = `${REAP}
return redis.call('HLEN', KEYS[2])
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

/** How often a recovering instance looks whether the instances it knew are registered again. */
const RECOVERY_POLL = 100;
/**
 * How long a live instance may take to come back after Redis does: the default reconnect backoff
 * (2.1 s at most) plus resubscribing, with room for a busy machine. A recovery waits at least this
 * long, and at least one ttl, for the instances it knew.
 */
const RECONNECT_ALLOWANCE = 5_000;

/**
 * Presence of one hub across the cluster. Counts change with one script per local connect or
 * disconnect of a user; the full local counts are written again after every reconnect to Redis and
 * whenever a heartbeat finds this instance reaped (it was silent too long), so the totals heal.
 * Events reach listeners through a PresenceView: after an outage, once every instance known before
 * it is registered again (or could have expired), the totals are read once and only real changes
 * are told.
 */
export class RedisPresence implements HubPresence {
  private readonly logger = new Logger('SignalR:Redis');
  private readonly local = new Map<string, number>();
  private readonly listeners = new PresenceListeners();
  private readonly keys: [string, string];
  private readonly serverKeyPrefix: string;
  private readonly ttl: number;
  private readonly view = new PresenceView((type, userId) => this.listeners.emit(type, userId));
  private timer: NodeJS.Timeout | null = null;
  private listening: Promise<void> | null = null;
  /** The live instances, as the last script that listed them saw them. */
  private servers: string[] = [];
  /** The instances live before the last outage: a recovery waits for them to register again. */
  private serversBeforeOutage: string[] = [];
  /** Counts recoveries: a newer one supersedes any still waiting. */
  private recoveries = 0;
  /** When Redis last accepted this instance's registration or heartbeat (ms since the epoch); null before the first. */
  lastHeartbeatAt: number | null = null;
  /** When the heartbeat started: the reference for staleness until the first one is accepted. */
  private startedAt = 0;

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
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.beat(), this.heartbeat);
    this.timer.unref();
    void this.sync();
  }

  /** Stops the heartbeat and removes this instance's entries (its users leave unless connected elsewhere). */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.local.clear();
    if (this.listening !== null) this.link.unlisten(this.channels.presence);
    this.listening = null;
    this.view.forget();
    await this.run(LEAVE, [this.link.serverName]).catch(() => undefined);
  }

  /**
   * True once no heartbeat was accepted for three intervals (the ttl): other instances may have
   * reaped this one's users by now.
   */
  get stale(): boolean {
    return this.timer !== null && Date.now() - (this.lastHeartbeatAt ?? this.startedAt) > this.ttl;
  }

  changed(userId: string, delta: 1 | -1): void {
    const count = (this.local.get(userId) ?? 0) + delta;
    if (count <= 0) this.local.delete(userId);
    else this.local.set(userId, count);
    if (!this.link.isUp) return; // written by the sync that follows the reconnect
    this.run(CHANGE, [this.link.serverName, userId, String(delta)]).then(
      (total) => {
        if (total === -1) void this.sync();
      },
      () => undefined,
    );
  }

  /** Writes every local count again (after a reconnect, or when this instance was reaped). */
  sync(): Promise<void> {
    if (!this.link.isUp) return Promise.resolve();
    const pairs: string[] = [];
    for (const [userId, count] of this.local) pairs.push(userId, String(count));
    return this.run(SYNC, [this.link.serverName, String(this.ttl), ...pairs]).then(
      (servers) => {
        this.lastHeartbeatAt = Date.now();
        this.sawServers(servers);
      },
      (error) => this.logger.debug(logEvent('PresenceSyncFailed', `Presence sync failed: ${error}`, { error: describeError(error) })),
    );
  }

  /** The link went down: presence messages may be missed until the next recovery. */
  lost(): void {
    if (this.view.known) this.serversBeforeOutage = this.servers;
    this.view.lost();
  }

  /** The link is back: write this instance's counts, then recover the listeners' view. */
  reconnected(): void {
    void this.sync().then(() => (this.listening !== null ? this.recover() : undefined));
  }

  onlineUsers(): Promise<Map<string, number>> {
    return this.read('').then((reply) => {
      const entries = (reply as string[] | null) ?? [];
      const users = new Map<string, number>();
      for (let i = 0; i + 1 < entries.length; i += 2) users.set(entries[i], Number(entries[i + 1]));
      return users;
    });
  }

  userCount(): Promise<number> {
    if (!this.link.isUp) return Promise.reject(new Error(RedisTexts.unavailable));
    return this.run(COUNT, []).then(Number);
  }

  connectionCount(userId: string): Promise<number> {
    return this.read(userId).then((reply) => (reply === null ? 0 : Math.max(0, Number(reply))));
  }

  subscribe(listener: (event: PresenceEvent) => void): PresenceSubscription {
    const remove = this.listeners.add(listener);
    this.listening ??= this.link.listen(this.channels.presence, (message) => this.heard(message.toString())).then(() => this.recover());
    return presenceSubscription(() => {
      remove();
      if (this.listeners.size === 0 && this.listening !== null) {
        this.listening = null;
        this.link.unlisten(this.channels.presence);
        this.view.forget();
        this.serversBeforeOutage = [];
      }
    }, this.listening);
  }

  private beat(): void {
    if (!this.link.isUp) return;
    this.run(HEARTBEAT, [this.link.serverName, String(this.ttl)]).then(
      (alive) => {
        if (alive === 0) return void this.sync();
        this.lastHeartbeatAt = Date.now();
        this.sawServers(alive);
      },
      () => undefined,
    );
  }

  /** `+user` / `-user` go to the view; `*server` (an instance registered) is remembered. */
  private heard(text: string): void {
    if (text[0] !== '*') return this.view.heard(text);
    if (!this.servers.includes(text.slice(1))) this.servers = [...this.servers, text.slice(1)];
    this.link.noticeServers([text.slice(1)]);
  }

  private sawServers(reply: unknown): void {
    if (!Array.isArray(reply)) return;
    this.servers = reply.map(String);
    this.link.noticeServers(this.servers);
  }

  /**
   * Brings the view back after it lost track: waits until every instance live before the outage is
   * registered again (a restarted Redis is empty until each has written its counts) or could have
   * expired (one ttl, and at least RECONNECT_ALLOWANCE), then reads the totals once. Never
   * rejects; a new outage starts it over.
   */
  private async recover(): Promise<void> {
    if (this.view.known || !this.link.isUp) return;
    const attempt = ++this.recoveries;
    const superseded = () => attempt !== this.recoveries || this.listening === null || !this.link.isUp || this.view.known;
    const expected = this.serversBeforeOutage;
    const deadline = Date.now() + Math.max(this.ttl, RECONNECT_ALLOWANCE);
    try {
      while (expected.length > 0 && Date.now() < deadline) {
        const live = new Set((await this.run(SERVERS, [])) as string[]);
        if (expected.every((server) => live.has(server))) break;
        await new Promise((resolve) => setTimeout(resolve, RECOVERY_POLL).unref());
        if (superseded()) return;
      }
      if (superseded()) return;
      const token = this.view.reading();
      const [servers, entries] = (await this.run(SNAPSHOT, [])) as [string[], string[]];
      this.sawServers(servers);
      this.view.read(
        token,
        entries.filter((_, i) => i % 2 === 0),
      );
      if (this.view.known) this.serversBeforeOutage = [];
    } catch (error) {
      this.view.lost(); // stops keeping what is heard for a read that failed; the next reconnect retries
      this.logger.debug(logEvent('PresenceSyncFailed', `Presence recovery failed: ${String(error)}`, { error: describeError(error) }));
    }
  }

  private read(userId: string): Promise<unknown> {
    if (!this.link.isUp) return Promise.reject(new Error(RedisTexts.unavailable));
    return this.run(READ, [userId]);
  }

  /** EVALSHA (the script text travels once per Redis start), EVAL when Redis does not know it yet. */
  private run(script: string, args: string[]): Promise<unknown> {
    const argv = [...this.keys, this.serverKeyPrefix, this.channels.presence, ...args];
    const publisher = this.link.publisher;
    return publisher.evalsha(sha1(script), 2, ...argv).catch((error: Error) => {
      if (!String(error?.message).startsWith('NOSCRIPT')) throw error;
      return publisher.eval(script, 2, ...argv);
    });
  }
}
