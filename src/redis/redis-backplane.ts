import type { Type } from '@nestjs/common';
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { ConnectionBridge } from '../interfaces/connection-bridge.interface.js';
import type { ConnectionStartClaims } from '../interfaces/connection-start-claims.interface.js';
import type { BackplaneStatistics, HubBackplane } from '../lifetime/hub-backplane.js';
import type { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import type { ConnectionRelay } from '../interfaces/connection-relay.interface.js';
import { clusterSubscriber } from './redis-cluster-subscriber.js';
import { type RedisBackplaneSettings, RedisHubLifetimeManager } from './redis-hub-lifetime-manager.js';
import { RedisConnectionRelay } from './redis-connection-relay.js';
import { type RedisClient, RedisLink } from './redis-link.js';
import { RedisConnectionBridge } from './redis-connection-bridge.js';
import { RedisStartClaims } from './redis-start-claims.js';
import { RedisTexts } from './redis-texts.js';

/**
 * Options of `redisBackplane()` (from `nestjs-signalr/redis`). Give exactly one of `url`, `client`,
 * `redis` or `cluster`.
 *
 * @example
 * redisBackplane({ redis: { host: 'redis', port: 6379, password: process.env.REDIS_PASSWORD }, channelPrefix: 'shop:' })
 * redisBackplane({ cluster: { nodes: [{ host: 'redis-0', port: 6379 }] }, hubName: (hub) => `Shop.Hubs.${hub.name}` })
 */
export interface RedisBackplaneOptions {
  /** A Redis URL, e.g. `redis://127.0.0.1:6379/0` or `rediss://user:pass@host:6380`. */
  url?: string;
  /**
   * An ioredis client (`Redis` or `Cluster`) the app made. It publishes; its `duplicate()` subscribes
   * (for a `Cluster`, one connection to one of its nodes).
   * The app keeps owning it: shutdown closes only the duplicate. Make it with
   * `enableOfflineQueue: false` so that nothing queues while Redis is down.
   */
  client?: RedisClient;
  /** ioredis connection options (host, port, password, tls, db...). */
  redis?: RedisOptions;
  /** A Redis Cluster: its startup nodes and ioredis cluster options. */
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions };
  /**
   * Prepended to every channel name without a separator, as StackExchange.Redis's `ChannelPrefix`:
   * give ASP.NET Core's instances the same prefix to share a Redis with them. Default none.
   */
  channelPrefix?: string;
  /**
   * The hub's name in channel names (ASP.NET Core's `{p}` is the hub's full .NET type name, e.g.
   * `MyApp.Hubs.ChatHub`; return that to join a fleet of ASP.NET Core instances). Default: the hub
   * class's name.
   */
  hubName?: (hub: Type<unknown>) => string;
  /** How long a group add/remove for a connection on another instance waits for its ack. Default 30,000 ms (ASP.NET Core's). */
  ackTimeout?: number;
  /** How often an instance renews its presence; entries of an instance silent for 3 beats expire. Default 5,000 ms. */
  presenceHeartbeat?: number;
  /** Longest wait for a Redis reply to a publish or script (ioredis `commandTimeout`). Default 5,000 ms. */
  commandTimeout?: number;
  /**
   * Without sticky sessions (`connectionTokenSecret`): the most SSE and Long Polling requests this
   * instance carries at once to the instances that hold their connections (each is a client's open
   * HTTP request, a held poll among them). Beyond it a request to be carried gets 503. Default 16,384.
   */
  maximumCarriedRequests?: number;
  /**
   * Without sticky sessions: the most carried requests this instance serves at once for the
   * connections it holds, whichever instances carried them (a held poll costs about a kilobyte).
   * Beyond it a new one is answered 503, carried back to its client. Default 16,384.
   */
  maximumServedRequests?: number;
  /**
   * Without sticky sessions: the most body bytes this instance holds for carried sends (POSTs)
   * waiting in their connections' POST queues, each holding its first chunk of up to 64 KiB until
   * it is read. Beyond it a carried send with a body gets 503. Default 16 MiB (16,777,216).
   */
  maximumHeldCarriedBytes?: number;
}

/** Reconnect backoff: 100 ms doubling to 2 s, with jitter so instances do not retry in step. */
function retryStrategy(times: number): number {
  return Math.min(100 * 2 ** Math.min(times - 1, 5), 2_000) + Math.floor(Math.random() * 100);
}

function loadIoredis(): typeof import('ioredis') {
  try {
    // Required here, not imported at the top, so apps without a backplane never load it.
    return require('ioredis') as typeof import('ioredis');
  } catch {
    throw new Error(RedisTexts.missingIoredis);
  }
}

/** ioredis settings of both connections: fail fast while down (no offline queue), reconnect forever. */
function connectionDefaults(commandTimeout: number): RedisOptions {
  return { enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResubscribe: false, retryStrategy, commandTimeout, lazyConnect: false };
}

/** How long a re-attach landing on another instance waits for the connection's owner before it gets 404 (at most `ackTimeout`). */
const ATTACH_ANSWER_TIMEOUT = 5_000;

class RedisBackplane implements HubBackplane {
  private link: RedisLink | null = null;
  private relay: RedisConnectionRelay | null = null;
  private readonly prefixes = new Set<string>();
  private readonly managers = new Set<RedisHubLifetimeManager>();
  private claims: RedisStartClaims | null = null;
  private bridge: RedisConnectionBridge | null = null;
  /** Listeners of `onOtherInstance` given before the link was made. */
  private readonly otherInstanceListeners: Array<() => void> = [];
  private readonly settings: RedisBackplaneSettings;

  constructor(private readonly options: RedisBackplaneOptions) {
    const given = ['url', 'client', 'redis', 'cluster'].filter((key) => options[key as keyof RedisBackplaneOptions] !== undefined);
    if (given.length !== 1) throw new Error(RedisTexts.noConnection);
    this.settings = {
      channelPrefix: options.channelPrefix ?? '',
      ackTimeout: options.ackTimeout ?? 30_000,
      presenceHeartbeat: options.presenceHeartbeat ?? 5_000,
    };
  }

  createLifetimeManager(hub: Type<unknown>, protocols: ReadonlyMap<string, HubProtocol>): HubLifetimeManager {
    const prefix = `${this.settings.channelPrefix}${this.options.hubName?.(hub) ?? hub.name}`;
    // One link routes each channel to one handler: two apps (or two hub classes with one name) on
    // one backplane would steal each other's channels.
    if (this.prefixes.has(prefix)) throw new Error(RedisTexts.prefixInUse(prefix));
    this.prefixes.add(prefix);
    const manager = new RedisHubLifetimeManager(this.connect(), prefix, protocols, this.settings);
    this.managers.add(manager);
    return manager;
  }

  /** `SET {channelPrefix}transport-claim:{connectionId} NX PX {window}` on the shared link, per start. */
  startClaims(): ConnectionStartClaims {
    return (this.claims ??= new RedisStartClaims(this.connect(), this.settings.channelPrefix));
  }

  /** Stateful re-attaches bridged over the shared link (`{channelPrefix}internal:attach:{connectionId}`, `internal:bridge:{server}`). */
  connectionBridge(): ConnectionBridge {
    return (this.bridge ??= new RedisConnectionBridge(this.connect(), this.settings.channelPrefix, Math.min(this.settings.ackTimeout, ATTACH_ANSWER_TIMEOUT)));
  }

  /**
   * Heard from the hubs' presence heartbeats (every `presenceHeartbeat`), which list the instances
   * on this Redis: no command of its own. Without a hub served there is no heartbeat, and no call.
   */
  onOtherInstance(listener: () => void): void {
    if (this.link !== null) this.link.onOtherInstance(listener);
    else this.otherInstanceListeners.push(listener);
  }

  /** One per link: an owner waits no longer for an asker's next chunk, nor an asker for its owner, than a group ack. */
  connectionRelay(): ConnectionRelay {
    const { maximumCarriedRequests, maximumServedRequests, maximumHeldCarriedBytes } = this.options;
    return (this.relay ??= new RedisConnectionRelay(this.connect(), this.settings.channelPrefix, this.settings.ackTimeout, {
      maximumCarriedRequests,
      maximumServedRequests,
      maximumHeldCarriedBytes,
    }));
  }

  statistics(): BackplaneStatistics {
    const link = this.link;
    let lastPresenceHeartbeatAt: number | null = Infinity;
    let presenceStale = false;
    for (const { heartbeat } of this.managers) {
      lastPresenceHeartbeatAt =
        heartbeat.lastHeartbeatAt === null || lastPresenceHeartbeatAt === null ? null : Math.min(lastPresenceHeartbeatAt, heartbeat.lastHeartbeatAt);
      presenceStale ||= heartbeat.stale;
    }
    return {
      connected: link?.isUp ?? false,
      disconnectedSince: link === null ? null : link.disconnectedSince,
      outages: link?.outages ?? 0,
      droppedSends: link?.droppedSends ?? 0,
      unclaimedStarts: this.claims?.unclaimedStarts ?? 0,
      ...(this.bridge === null ? {} : { bridgedSockets: this.bridge.sockets, bridgedBytes: this.bridge.bufferedBytes }),
      presenceHeartbeatInterval: this.settings.presenceHeartbeat,
      lastPresenceHeartbeatAt: lastPresenceHeartbeatAt === Infinity ? null : lastPresenceHeartbeatAt,
      presenceStale,
    };
  }

  async close(): Promise<void> {
    const link = this.link;
    this.link = null;
    this.relay?.close();
    this.relay = null;
    this.prefixes.clear();
    this.managers.clear();
    this.claims = null;
    this.bridge?.close();
    this.bridge = null;
    await link?.close();
  }

  /** The shared link, made on first use (again after a close, for an app that is started anew). */
  private connect(): RedisLink {
    if (this.link !== null) return this.link;
    const { Redis, Cluster } = loadIoredis();
    const defaults = connectionDefaults(this.options.commandTimeout ?? 5_000);
    const options = this.options;
    let publisher: RedisClient;
    let subscriber: RedisClient;
    if (options.client !== undefined) {
      publisher = options.client;
      const client = options.client as Cluster;
      subscriber =
        client.isCluster === true
          ? clusterSubscriber(Redis, client, [], { ...defaults, ...client.options.redisOptions }, retryStrategy)
          : (options.client as Redis).duplicate();
    } else if (options.cluster !== undefined) {
      const clusterOptions: ClusterOptions = { ...options.cluster.options, enableOfflineQueue: false, clusterRetryStrategy: retryStrategy };
      // The nodes keep ioredis's lazy connect: with no offline queue, a cluster refuses a command to a
      // node that is still connecting, and an eager connect makes its ready check fail that way.
      const { lazyConnect: _eager, ...nodeDefaults } = defaults;
      clusterOptions.redisOptions = { ...nodeDefaults, ...options.cluster.options?.redisOptions };
      publisher = new Cluster(options.cluster.nodes, clusterOptions);
      subscriber = clusterSubscriber(Redis, publisher, options.cluster.nodes, { ...defaults, ...options.cluster.options?.redisOptions }, retryStrategy);
    } else if (options.url !== undefined) {
      publisher = new Redis(options.url, defaults);
      subscriber = new Redis(options.url, defaults);
    } else {
      publisher = new Redis({ ...options.redis, ...defaults });
      subscriber = new Redis({ ...options.redis, ...defaults });
    }
    const link = (this.link = new RedisLink(publisher, subscriber, options.client === undefined));
    for (const listener of this.otherInstanceListeners.splice(0)) link.onOtherInstance(listener);
    return link;
  }
}

/**
 * Scales hubs out over Redis, wire-compatible with ASP.NET Core's Redis backplane: every target,
 * group changes and client results reach connections on any instance. Pass it as `backplane` to
 * `SignalRModule.forRoot()` (or return it from `forRootAsync`'s factory). Needs the `ioredis`
 * package, loaded only when a backplane is made.
 *
 * Channels are `{channelPrefix}{hubName}:all`, `:group:{name}`, `:connection:{id}`, `:user:{id}` and
 * `:internal:groups|ack:{server}|return:{server}`, MessagePack envelopes as ASP.NET Core's. While
 * Redis is unreachable, sends still reach this instance's connections and what they would publish is
 * dropped (counted; one warning per outage); group changes and client results for connections
 * elsewhere reject at once. Nothing is queued. Presence entries of a dead instance expire after
 * three missed heartbeats.
 *
 * @example
 * import { redisBackplane } from 'nestjs-signalr/redis';
 *
 * SignalRModule.forRoot({ backplane: redisBackplane({ url: process.env.REDIS_URL, channelPrefix: 'chat-app:' }) })
 *
 * @example
 * SignalRModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ backplane: redisBackplane({ url: config.get('REDIS_URL') }) }),
 * })
 */
export function redisBackplane(options: RedisBackplaneOptions): HubBackplane {
  return new RedisBackplane(options);
}
