import { Logger } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { hostname } from 'os';
import type { Cluster, Redis } from 'ioredis';
import { type PublishRoute, publishRoute } from './redis-publish-route.js';
import { logEvent } from '../logging/log-event.js';
import { RedisTexts } from './redis-texts.js';
import { backplaneTelemetry } from '../observability/backplane-telemetry.js';

export type RedisClient = Redis | Cluster;

/** How long a SUBSCRIBE may take before a connection or group join goes ahead without it. */
const SUBSCRIBE_WAIT = 5_000;
/**
 * How long startup waits for Redis after a first failed attempt before it goes ahead without it: a
 * Redis started beside the app (docker compose) is usually there by then, and no outage is reported.
 */
const STARTUP_GRACE = 2_000;

type Handler = (message: Buffer) => void;

/** What a hub's manager hears about the link's health. */
export interface LinkListener {
  /** Redis is reachable again (channels were resubscribed). */
  up(): void;
  /** Redis became unreachable; answers awaited through it may be lost. */
  down(): void;
}

function describe(error: unknown): string {
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? error.message;
  return String(error);
}

/**
 * One publisher and one subscriber connection per instance, shared by every hub: literal channel
 * subscriptions (no patterns) with one handler each, resubscribed after every reconnect, and the
 * outage bookkeeping (one warning per outage, a count of sends that could not be published).
 */
export class RedisLink {
  private readonly logger = new Logger('SignalR:Redis');
  private readonly handlers = new Map<string, Handler>();
  /** Subscriptions Redis has not confirmed yet: one shared promise per channel, gone once settled. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly listeners = new Set<LinkListener>();
  /** The instance's name on the backplane: `{host}_{32 hex digits}`, as ASP.NET Core's. */
  readonly serverName = `${hostname()}_${randomBytes(16).toString('hex')}`;
  private wasUp = false;
  private markFirstReady!: () => void;
  /** Settles when the first connection is ready and its channels are subscribed, or Redis proved unreachable. */
  private readonly firstReady = new Promise<void>((resolve) => (this.markFirstReady = resolve));
  private inOutage = false;
  /** The current outage was logged (a failure at startup is only once the grace has passed). */
  private outageReported = false;
  private dropped = 0;
  private droppedInOutage = 0;
  private outageCount = 0;
  /** When the link last stopped being up (or was made, before its first connection); null while up. */
  private downAt: number | null = Date.now();
  private closed = false;
  private readonly route: PublishRoute;
  /** Who waits to hear of another instance on this Redis; null once one was seen. */
  private otherInstanceListeners: Array<() => void> | null = [];

  constructor(
    readonly publisher: RedisClient,
    readonly subscriber: RedisClient,
    /** Whether closing the link quits the publisher (false when the app handed its own client in). */
    private readonly ownsPublisher: boolean,
  ) {
    this.route = publishRoute(publisher, this.serverName);
    for (const client of [publisher, subscriber]) {
      // An 'error' listener keeps ioredis's connection errors from becoming uncaught exceptions.
      client.on('error', (error: unknown) => this.failed(error));
      client.on('close', () => this.failed(new Error('connection closed')));
      client.on('ready', () => this.ready());
    }
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      backplaneTelemetry.received();
      this.handlers.get(channel.toString())?.(message);
    });
    backplaneTelemetry.watch(this);
    if (this.isUp) this.ready();
  }

  /** Both connections are ready: sends can be published and channels are subscribed. */
  get isUp(): boolean {
    return this.publisher.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** Sends can be published (the subscriber may be moving to another node meanwhile). */
  get canPublish(): boolean {
    return this.publisher.status === 'ready';
  }

  /** Outages reported since the link was made (one warning each). */
  get outages(): number {
    return this.outageCount;
  }

  /** Since when (ms since the epoch) the link has not been up; null while it is. */
  get disconnectedSince(): number | null {
    return this.downAt;
  }

  /** Sends that could not be published since the link was made. */
  get droppedSends(): number {
    return this.dropped;
  }

  addListener(listener: LinkListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Routes `channel` to `handler` and subscribes it; settles once Redis confirmed, at once while
   * Redis is unreachable (the channel is subscribed on reconnect), and after at most 5 s.
   */
  listen(channel: string, handler: Handler): Promise<void> {
    this.handlers.set(channel, handler);
    // Still connecting for the first time: the channel is subscribed with the others once ready.
    if (this.subscriber.status !== 'ready') return this.outageReported || this.closed ? Promise.resolve() : this.track([channel], bounded(this.firstReady));
    return this.track([channel], bounded(this.subscriber.subscribe(channel)));
  }

  /**
   * What `listen` of `channel` still waits for, if anything: a later member of the channel (a
   * second connection of a user, a second group joiner) waits for it too, as ASP.NET Core awaits
   * the subscription on every add.
   */
  subscribing(channel: string): Promise<void> | undefined {
    return this.inFlight.get(channel);
  }

  unlisten(channel: string): void {
    this.inFlight.delete(channel);
    if (!this.handlers.delete(channel)) return;
    if (this.subscriber.status === 'ready') this.subscriber.unsubscribe(channel).catch(() => undefined);
  }

  /** Resolves with the number of receivers; rejects while Redis is unreachable (nothing is queued). */
  publish(channel: string, payload: Buffer): Promise<number> {
    if (this.publisher.status !== 'ready') return Promise.reject(new Error(RedisTexts.unavailable));
    backplaneTelemetry.published();
    return this.route.publish(channel, payload);
  }

  /**
   * As `publish`, resolving with the subscribers of `channel` anywhere (in a Redis Cluster, on every
   * node): for a send whose "no receiver" means "no such connection".
   */
  publishCounted(channel: string, payload: Buffer): Promise<number> {
    if (this.publisher.status !== 'ready') return Promise.reject(new Error(RedisTexts.unavailable));
    backplaneTelemetry.published();
    return this.route.publishCounted(channel, payload);
  }

  /**
   * The instances a presence script listed (or one that announced itself): the first time one of
   * them is another instance, whoever waits for that hears it, once.
   */
  noticeServers(servers: readonly string[]): void {
    const listeners = this.otherInstanceListeners;
    if (listeners === null || servers.every((server) => server === this.serverName)) return;
    this.otherInstanceListeners = null;
    for (const listener of listeners) listener();
  }

  /** Calls `listener` once when another instance is first seen on this Redis (at once if one was). */
  onOtherInstance(listener: () => void): void {
    if (this.otherInstanceListeners === null) listener();
    else this.otherInstanceListeners.push(listener);
  }

  /** A send that reached local connections but not Redis: counted, reported when Redis is back. */
  countDropped(): void {
    this.dropped++;
    this.droppedInOutage++;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    backplaneTelemetry.unwatch(this);
    this.markFirstReady(); // what waits for a first connection that will never come settles now
    this.handlers.clear();
    this.inFlight.clear();
    const quit = (client: RedisClient) =>
      client.status === 'ready'
        ? client.quit().then(
            () => undefined,
            () => client.disconnect(),
          )
        : (client.disconnect(), Promise.resolve());
    await Promise.all([quit(this.subscriber), this.ownsPublisher ? quit(this.publisher) : Promise.resolve()]);
  }

  private failed(error: unknown): void {
    if (this.closed || this.inOutage) return;
    if (this.wasUp || this.publisher.status !== 'ready' || this.subscriber.status !== 'ready') {
      this.inOutage = true;
      this.droppedInOutage = 0;
      if (this.wasUp) this.downAt = Date.now();
      backplaneTelemetry.outage();
      for (const listener of [...this.listeners]) listener.down();
      if (this.wasUp) return this.reportOutage(error);
      setTimeout(() => {
        if (this.inOutage && !this.wasUp && !this.outageReported && !this.closed) this.reportOutage(error);
      }, STARTUP_GRACE).unref();
    }
  }

  /** One warning per outage; whatever waits for the first connection goes ahead without Redis. */
  private reportOutage(error: unknown): void {
    this.outageReported = true;
    this.outageCount++;
    this.markFirstReady();
    this.logger.warn(logEvent('ConnectionFailed', RedisTexts.outage(describe(error)), { error: describe(error) }));
  }

  /** Records `pending` as the subscription in flight of each of `channels` until it settles (it never rejects). */
  private track(channels: readonly string[], pending: Promise<void>): Promise<void> {
    for (const channel of channels) this.inFlight.set(channel, pending);
    void pending.then(() => {
      for (const channel of channels) if (this.inFlight.get(channel) === pending) this.inFlight.delete(channel);
    });
    return pending;
  }

  private ready(): void {
    if (this.closed || !this.isUp) return;
    const channels = [...this.handlers.keys()];
    const resubscribed = channels.length > 0 ? this.track(channels, bounded(this.subscriber.subscribe(...channels))) : Promise.resolve();
    void resubscribed.then(() => {
      if (this.closed || !this.isUp) return;
      this.markFirstReady();
      if (this.outageReported) this.logger.log(logEvent('ConnectionRestored', RedisTexts.recovered(this.droppedInOutage)));
      this.outageReported = false;
      this.inOutage = false;
      this.wasUp = true;
      this.downAt = null;
      for (const listener of [...this.listeners]) listener.up();
    });
  }
}

/** A Redis reply awaited for at most SUBSCRIBE_WAIT; failures and timeouts both just settle. */
function bounded(reply: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  // Unref'd: a bound on a wait is no reason to keep the process alive.
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, SUBSCRIBE_WAIT).unref()));
  return Promise.race([
    reply.then(
      () => undefined,
      () => undefined,
    ),
    timeout,
  ]).finally(() => clearTimeout(timer));
}
