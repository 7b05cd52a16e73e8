import type { Meter, Tracer } from '@opentelemetry/api';
import { otel } from './otel-api.js';
import { CONNECTIONS_METER, SERVER_TRACER, SIGNALR_METER } from './telemetry-names.js';

/** A part of the telemetry that makes its instruments when the providers are (re)read. */
export interface TelemetryPart {
  /** Makes the part's instruments on `state`'s meters; called only while metrics are on. */
  bind(state: TelemetryState): void;
}

/**
 * What the OpenTelemetry API offers right now: meters and a tracer, and whether anything listens.
 * `@opentelemetry/api` hands out no-op instruments when no SDK is registered; the flags let the hot
 * path skip even the calls (and their attribute arguments) then. Providers are read when a SignalR
 * server starts (`refresh`), so an SDK registered before the Nest app is created is the one used,
 * as OpenTelemetry's own instrumentations require.
 */
export class TelemetryState {
  metricsOn = false;
  tracesOn = false;
  connectionsMeter: Meter | null = null;
  meter: Meter | null = null;
  tracer: Tracer | null = null;
  private readonly parts: TelemetryPart[] = [];

  register<T extends TelemetryPart>(part: T): T {
    this.parts.push(part);
    if (this.metricsOn) part.bind(this);
    return part;
  }

  /** Reads the global providers again and makes every part's instruments on them. */
  refresh(): void {
    if (otel === null) return;
    const noopMeter = otel.createNoopMeter().constructor;
    const noopTracerProvider = new otel.ProxyTracerProvider().getDelegate().constructor;
    this.connectionsMeter = otel.metrics.getMeter(CONNECTIONS_METER);
    this.meter = otel.metrics.getMeter(SIGNALR_METER);
    this.metricsOn = this.meter.constructor !== noopMeter;
    const provider = otel.trace.getTracerProvider();
    const delegate = provider instanceof otel.ProxyTracerProvider ? provider.getDelegate() : provider;
    this.tracesOn = delegate.constructor !== noopTracerProvider;
    this.tracer = this.tracesOn ? otel.trace.getTracer(SERVER_TRACER) : null;
    if (this.metricsOn) for (const part of this.parts) part.bind(this);
  }
}

/** The process's one telemetry state: instruments are per process in OpenTelemetry too. */
export const telemetry = new TelemetryState();

/** Reads the OpenTelemetry providers registered now (a SignalR server calls it as it starts). */
export function refreshTelemetry(): void {
  telemetry.refresh();
}
