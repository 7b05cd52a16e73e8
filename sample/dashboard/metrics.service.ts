import { Injectable } from '@nestjs/common';
import { SignalRStatistics } from '../../src/index.js';
import { histogramCount, readMetrics, total } from '../telemetry/sample-telemetry.js';
import { EventLoopLag } from './event-loop-lag.js';

/** The hubs whose connections the dashboard counts. */
export type SampleHubName = 'chat' | 'notifications' | 'dashboard';

/** Where each hub is served (SignalRStatistics names hubs by class and path). */
const HUB_PATHS: Readonly<Record<SampleHubName, string>> = { chat: '/hubs/chat', notifications: '/hubs/notifications', dashboard: '/hubs/dashboard' };

/** One dashboard update, as the `Metrics` stream sends it. */
export interface MetricsSnapshot {
  /** 1 for a stream's first update, then one more per update: a gap means updates were lost. */
  tick: number;
  /** When it was taken (ISO 8601). */
  at: string;
  /** `signalr.server.active_connections` on this instance, as `GET /metrics` shows it (summed over transports). */
  activeConnections: number;
  /** The same connections per hub (SignalRStatistics: the metric has no hub attribute, as in ASP.NET Core). */
  connections: Record<SampleHubName, number>;
  /**
   * Hub method invocations completed since the app started (the count of `signalr.server.invocation.duration`,
   * every hub, method and outcome: a chat message is one, a stream counts when it ends), and per second since the previous update.
   */
  invocations: { total: number; perSecond: number };
  /** Resident set size and V8 heap in use, in MiB. */
  memoryMb: { rss: number; heapUsed: number };
  /** The 99th percentile of event-loop delay over the last second (so far, for the first second of sampling), in milliseconds. */
  eventLoopLagMs: number;
  uptimeSeconds: number;
}

const round1 = (value: number) => Math.round(value * 10) / 10;
const MIB = 1024 * 1024;

/**
 * What the dashboard shows, read from the same OpenTelemetry instruments that `GET /metrics` exports
 * (sample/telemetry/) and from SignalRStatistics: nothing is counted by hand. Per instance: behind a
 * load balancer each instance shows its own.
 */
@Injectable()
export class MetricsService {
  /** Metrics streams running now, and started since the app started (tests check cancellation with them). */
  readonly streams = { running: 0, started: 0 };
  /** The event-loop delay histogram all Metrics streams share. */
  readonly eventLoopLag = new EventLoopLag();

  constructor(private readonly statistics: SignalRStatistics) {}

  /** Open connections of one hub on this instance. */
  connectionCount(hub: SampleHubName): number {
    return this.statistics.snapshot().hubs.find(({ path }) => path === HUB_PATHS[hub])?.connections ?? 0;
  }

  /**
   * The update numbered `tick`; the rate counts invocations since `previous` (the last update of the same
   * stream, or none for its first).
   */
  async snapshot(tick: number, previous: { at: number; invocations: number } | null, lagNs: number): Promise<MetricsSnapshot> {
    const reading = await readMetrics();
    const invocations = histogramCount(reading, 'signalr.server.invocation.duration');
    const now = Date.now();
    const seconds = previous === null ? 0 : (now - previous.at) / 1000;
    const { rss, heapUsed } = process.memoryUsage();
    return {
      tick,
      at: new Date(now).toISOString(),
      activeConnections: total(reading, 'signalr.server.active_connections'),
      connections: { chat: this.connectionCount('chat'), notifications: this.connectionCount('notifications'), dashboard: this.connectionCount('dashboard') },
      invocations: { total: invocations, perSecond: seconds > 0 ? round1((invocations - previous!.invocations) / seconds) : 0 },
      memoryMb: { rss: round1(rss / MIB), heapUsed: round1(heapUsed / MIB) },
      eventLoopLagMs: round1(lagNs / 1e6),
      uptimeSeconds: Math.floor(process.uptime()),
    };
  }
}
