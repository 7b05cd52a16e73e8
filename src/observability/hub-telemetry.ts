import type { Attributes as OtelAttributes, ObservableResult } from '@opentelemetry/api';
import { Attributes, SignalRInstruments } from './telemetry-names.js';
import { telemetry, type TelemetryPart, type TelemetryState } from './telemetry-state.js';

/** What a lifetime manager tells about itself: one of the two shapes ours have. */
export interface CountingLifetime {
  readonly groupCount?: number;
  readonly pendingClientResults?: number;
  readonly stats?: { readonly groups?: number; readonly pendingClientResults?: number };
}

/** Groups and pending client results of a lifetime manager, whichever shape it has. */
function countsOf(lifetime: object): { groups: number; pendingClientResults: number } {
  const counts = lifetime as CountingLifetime;
  return {
    groups: counts.groupCount ?? counts.stats?.groups ?? 0,
    pendingClientResults: counts.pendingClientResults ?? counts.stats?.pendingClientResults ?? 0,
  };
}

interface Watched {
  readonly attributes: OtelAttributes;
  readonly lifetime: object;
}

/**
 * Gauges of what hubs hold now: open streams (by hub), open uploads, pending client results and
 * groups with members here (by hub, read from the lifetime managers when the SDK collects).
 */
export class HubTelemetry implements TelemetryPart {
  private readonly streams = new Map<string, { count: number; attributes: OtelAttributes }>();
  private uploads = 0;
  private readonly lifetimes = new Set<Watched>();

  bind(state: TelemetryState): void {
    const meter = state.meter!;
    meter
      .createObservableUpDownCounter(SignalRInstruments.activeStreams, { unit: '{stream}', description: 'Server-to-client streams running, by hub.' })
      .addCallback((result: ObservableResult) => {
        for (const stream of this.streams.values()) result.observe(stream.count, stream.attributes);
      });
    meter
      .createObservableUpDownCounter(SignalRInstruments.activeUploads, { unit: '{stream}', description: 'Client-to-server streams (uploads) open.' })
      .addCallback((result: ObservableResult) => result.observe(this.uploads));
    meter
      .createObservableUpDownCounter(SignalRInstruments.pendingClientResults, {
        unit: '{invocation}',
        description: 'Client results awaiting their answer, by hub.',
      })
      .addCallback((result: ObservableResult) => {
        for (const { lifetime, attributes } of this.lifetimes) result.observe(countsOf(lifetime).pendingClientResults, attributes);
      });
    meter
      .createObservableUpDownCounter(SignalRInstruments.groups, { unit: '{group}', description: 'Groups with members on this instance, by hub.' })
      .addCallback((result: ObservableResult) => {
        for (const { lifetime, attributes } of this.lifetimes) result.observe(countsOf(lifetime).groups, attributes);
      });
  }

  /** Reports `lifetime`'s groups and pending client results under `hub` until `unwatch`. */
  watch(hub: string, lifetime: object): void {
    this.lifetimes.add({ attributes: { [Attributes.rpcService]: hub }, lifetime });
  }

  unwatch(lifetime: object): void {
    for (const watched of this.lifetimes) if (watched.lifetime === lifetime) this.lifetimes.delete(watched);
  }

  streamOpened(hub: string): void {
    let stream = this.streams.get(hub);
    if (stream === undefined) this.streams.set(hub, (stream = { count: 0, attributes: { [Attributes.rpcService]: hub } }));
    stream.count++;
  }

  streamClosed(hub: string): void {
    const stream = this.streams.get(hub);
    if (stream !== undefined) stream.count--;
  }

  uploadOpened(): void {
    if (telemetry.metricsOn) this.uploads++;
  }

  uploadClosed(): void {
    if (telemetry.metricsOn && this.uploads > 0) this.uploads--;
  }
}

/** Hub telemetry of the process. */
export const hubTelemetry = telemetry.register(new HubTelemetry());

/** Which hub each lifetime manager serves (lifetime managers do not know their hub's name). */
const hubOfLifetime = new WeakMap<object, string>();

/** The hub `lifetime` serves, for the spans of its sends; 'Hub' when it was never named. */
export function hubOf(lifetime: object): string {
  return hubOfLifetime.get(lifetime) ?? 'Hub';
}

/** A hub's lifetime manager was made: its sends are named after `hub`, its groups and client results reported. */
export function observeLifetime(hub: string, lifetime: object): void {
  hubOfLifetime.set(lifetime, hub);
  hubTelemetry.watch(hub, lifetime);
}
