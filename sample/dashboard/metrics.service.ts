import { Injectable } from '@nestjs/common';
import { EventLoopLag } from './event-loop-lag.js';

/** The hubs whose connections the dashboard counts. */
export type SampleHubName = 'chat' | 'notifications' | 'dashboard';

/** One dashboard update, as the `Metrics` stream sends it. */
export interface MetricsSnapshot {
  /** 1 for a stream's first update, then one more per update: a gap means updates were lost. */
  tick: number;
  /** When it was taken (ISO 8601). */
  at: string;
  /** Open connections per hub on this instance. */
  connections: Record<SampleHubName, number>;
  /** Chat messages and feed lines since the app started, and per second since the previous update. */
  messages: { total: number; perSecond: number };
  /** Resident set size and V8 heap in use, in MiB. */
  memoryMb: { rss: number; heapUsed: number };
  /** The 99th percentile of event-loop delay over the last second (so far, for the first second of sampling), in milliseconds. */
  eventLoopLagMs: number;
  uptimeSeconds: number;
}

const round1 = (value: number) => Math.round(value * 10) / 10;
const MIB = 1024 * 1024;

/**
 * What the dashboard shows, counted where it happens: the hubs report their connections and messages
 * here (a singleton, like the hubs). Per instance: behind a load balancer each instance counts its own.
 */
@Injectable()
export class MetricsService {
  private readonly open: Record<SampleHubName, number> = { chat: 0, notifications: 0, dashboard: 0 };
  private messageCount = 0;
  /** Connections closed per hub since the app started (a stateful reconnect closes none). */
  readonly closed: Record<SampleHubName, number> = { chat: 0, notifications: 0, dashboard: 0 };
  /** Metrics streams running now, and started since the app started (tests check cancellation with them). */
  readonly streams = { running: 0, started: 0 };
  /** The event-loop delay histogram all Metrics streams share. */
  readonly eventLoopLag = new EventLoopLag();

  connected(hub: SampleHubName): void {
    this.open[hub]++;
  }

  disconnected(hub: SampleHubName): void {
    this.open[hub]--;
    this.closed[hub]++;
  }

  connectionCount(hub: SampleHubName): number {
    return this.open[hub];
  }

  /** A chat message or a feed line went out. */
  countMessage(): void {
    this.messageCount++;
  }

  get messages(): number {
    return this.messageCount;
  }

  /**
   * The update numbered `tick`; the rate counts messages since `previous` (the last update of the same
   * stream, or none for its first).
   */
  snapshot(tick: number, previous: { at: number; messages: number } | null, lagNs: number): MetricsSnapshot {
    const now = Date.now();
    const seconds = previous === null ? 0 : (now - previous.at) / 1000;
    const { rss, heapUsed } = process.memoryUsage();
    return {
      tick,
      at: new Date(now).toISOString(),
      connections: { ...this.open },
      messages: { total: this.messageCount, perSecond: seconds > 0 ? round1((this.messageCount - previous!.messages) / seconds) : 0 },
      memoryMb: { rss: round1(rss / MIB), heapUsed: round1(heapUsed / MIB) },
      eventLoopLagMs: round1(lagNs / 1e6),
      uptimeSeconds: Math.floor(process.uptime()),
    };
  }
}
