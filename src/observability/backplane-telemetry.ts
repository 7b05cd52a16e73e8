import type { Attributes as OtelAttributes, Histogram, ObservableResult } from '@opentelemetry/api';
import { SHORT_SECONDS_BUCKETS, SignalRInstruments } from './telemetry-names.js';
import { telemetry, type TelemetryPart, type TelemetryState } from './telemetry-state.js';

/** What backplane telemetry reads of a backplane's link to its broker. */
export interface WatchedLink {
  readonly isUp: boolean;
  readonly droppedSends: number;
}

const REDIS: OtelAttributes = { 'signalr.backplane': 'redis' };

/**
 * The backplane: messages published and received (plain counts read at collection, as a cluster's
 * broadcast publishes once per send), outages begun, sends dropped while down, whether it is
 * connected, and how long another instance took to acknowledge a group change.
 */
export class BackplaneTelemetry implements TelemetryPart {
  private publishes = 0;
  private receives = 0;
  private outages = 0;
  private ackDuration: Histogram | null = null;
  private readonly links = new Set<WatchedLink>();

  bind(state: TelemetryState): void {
    const meter = state.meter!;
    const count = (name: string, unit: string, description: string, read: () => number) =>
      meter.createObservableCounter(name, { unit, description }).addCallback((result: ObservableResult) => {
        if (this.links.size > 0) result.observe(read(), REDIS);
      });
    count(
      SignalRInstruments.backplanePublishes,
      '{message}',
      'Messages published to the backplane (sends, group commands, acks, results).',
      () => this.publishes,
    );
    count(SignalRInstruments.backplaneReceives, '{message}', 'Messages received from the backplane.', () => this.receives);
    count(SignalRInstruments.backplaneOutages, '{outage}', 'Times the backplane became unreachable.', () => this.outages);
    count(SignalRInstruments.backplaneDroppedSends, '{message}', 'Sends that reached local connections only, the backplane being unreachable.', () => {
      let dropped = 0;
      for (const link of this.links) dropped += link.droppedSends;
      return dropped;
    });
    meter
      .createObservableGauge(SignalRInstruments.backplaneConnected, {
        unit: '1',
        description: "1 while the process's backplane links are all connected, else 0.",
      })
      .addCallback((result: ObservableResult) => {
        if (this.links.size === 0) return;
        let up = 1;
        for (const link of this.links) if (!link.isUp) up = 0;
        result.observe(up, REDIS);
      });
    this.ackDuration = meter.createHistogram(SignalRInstruments.backplaneAckDuration, {
      unit: 's',
      description: "Time from publishing a group command to the owning instance's acknowledgement.",
      advice: { explicitBucketBoundaries: SHORT_SECONDS_BUCKETS },
    });
  }

  watch(link: WatchedLink): void {
    this.links.add(link);
  }

  unwatch(link: WatchedLink): void {
    this.links.delete(link);
  }

  published(): void {
    this.publishes++;
  }

  received(): void {
    this.receives++;
  }

  outage(): void {
    this.outages++;
  }

  /** Times an acknowledged command: its ack's delay is recorded when `pending` resolves. */
  acked<T>(pending: Promise<T>): Promise<T> {
    if (!telemetry.metricsOn) return pending;
    const startedAt = performance.now();
    const histogram = this.ackDuration!;
    void pending.then(
      () => histogram.record((performance.now() - startedAt) / 1000, REDIS),
      () => undefined,
    );
    return pending;
  }
}

/** Backplane telemetry of the process. */
export const backplaneTelemetry = telemetry.register(new BackplaneTelemetry());
