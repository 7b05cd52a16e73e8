import type { Context, TextMapGetter } from '@opentelemetry/api';
import { otel } from './otel-api.js';
import { telemetry } from './telemetry-state.js';

/** Headers as they come: an invocation's `headers` map or an HTTP request's. */
export type HeaderCarrier = Readonly<Record<string, string | string[] | undefined>>;

const getter: TextMapGetter<HeaderCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return Array.isArray(value) ? value[0] : value;
  },
};

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * W3C trace context read by hand, for apps whose global propagator is OpenTelemetry's no-op one
 * (an SDK registered without `propagation.setGlobalPropagator`): ASP.NET Core reads `traceparent`
 * whatever else is configured, and so do we.
 */
function parseTraceparent(parent: Context, carrier: HeaderCarrier): Context {
  const api = otel!;
  const match = TRACEPARENT.exec(getter.get(carrier, 'traceparent') as string);
  if (match === null || match[1] === 'ff') return parent;
  const [, , traceId, spanId, flags] = match;
  if (!api.isValidTraceId(traceId) || !api.isValidSpanId(spanId)) return parent;
  const state = getter.get(carrier, 'tracestate');
  return api.trace.setSpanContext(parent, {
    traceId,
    spanId,
    traceFlags: parseInt(flags, 16) & 1,
    isRemote: true,
    traceState: typeof state === 'string' && state.length > 0 ? api.createTraceState(state) : undefined,
  });
}

/** The remote parent `carrier` names (W3C `traceparent`/`tracestate`, or the global propagator's fields), or undefined. */
export function extractParent(carrier: HeaderCarrier | null | undefined): Context | undefined {
  if (carrier === null || carrier === undefined || otel === null) return undefined;
  const api = otel;
  const extracted = api.propagation.extract(api.ROOT_CONTEXT, carrier, getter);
  if (api.trace.getSpanContext(extracted) !== undefined) return extracted;
  if (typeof getter.get(carrier, 'traceparent') !== 'string') return undefined;
  const parsed = parseTraceparent(extracted, carrier);
  return parsed === extracted ? undefined : parsed;
}

/** The trace context of the running code as W3C headers, or null outside a sampled-in or remote span. */
export function currentTraceHeaders(): Record<string, string> | null {
  if (otel === null || !telemetry.tracesOn) return null;
  const span = otel.trace.getSpanContext(otel.context.active());
  if (span === undefined || !otel.isSpanContextValid(span)) return null;
  const headers: Record<string, string> = {
    traceparent: `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`,
  };
  const state = span.traceState?.serialize();
  if (state) headers.tracestate = state;
  return headers;
}
