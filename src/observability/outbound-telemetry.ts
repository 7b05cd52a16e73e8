import type { Attributes as OtelAttributes, Span } from '@opentelemetry/api';
import { otel } from './otel-api.js';
import { Attributes } from './telemetry-names.js';
import { telemetry } from './telemetry-state.js';
import { errorType } from './invocation-telemetry.js';
import { extractParent, type HeaderCarrier } from './trace-context.js';
import { hubOf } from './hub-telemetry.js';

const attributeCache = new Map<string, OtelAttributes>();

function attributesOf(hub: string, method: string, target: string): OtelAttributes {
  const key = `${hub}\0${method}\0${target}`;
  let attributes = attributeCache.get(key);
  if (attributes === undefined) {
    // Bounded: method names come from server code, but a flood of names must not grow memory.
    if (attributeCache.size > 4096) attributeCache.clear();
    attributeCache.set(
      key,
      (attributes = { [Attributes.rpcSystem]: 'signalr', [Attributes.rpcService]: hub, [Attributes.rpcMethod]: method, [Attributes.sendTarget]: target }),
    );
  }
  return attributes;
}

/** A span for server-to-client traffic, only inside a trace the caller is in (no root span per send). */
function startChildSpan(lifetime: object, method: string, target: string, kind: 'send' | 'invoke'): Span | null {
  const api = otel!;
  const active = api.context.active();
  if (api.trace.getSpanContext(active) === undefined) return null;
  const hub = hubOf(lifetime);
  // PRODUCER for a send (nobody answers), CLIENT for a client result (the client answers).
  const spanKind = kind === 'send' ? api.SpanKind.PRODUCER : api.SpanKind.CLIENT;
  return telemetry.tracer!.startSpan(`${hub}/${method}`, { kind: spanKind, attributes: attributesOf(hub, method, target) }, active);
}

function failSpan(span: Span, error: unknown): void {
  span.setAttribute(Attributes.errorType, errorType(error));
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: otel!.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : undefined });
}

/**
 * A HubContext (or hub) send, traced as a child of the caller's span: the lifetime manager runs
 * inside it, so a backplane publishes its trace context. Call only while `telemetry.tracesOn`.
 */
export function traceSend(lifetime: object, target: string, method: string, send: () => Promise<void>): Promise<void> {
  const span = startChildSpan(lifetime, method, target, 'send');
  if (span === null) return send();
  let sent: Promise<void>;
  try {
    sent = otel!.context.with(otel!.trace.setSpan(otel!.context.active(), span), send);
  } catch (error) {
    failSpan(span, error);
    span.end();
    throw error;
  }
  return sent.then(
    () => span.end(),
    (error: unknown) => {
      failSpan(span, error);
      span.end();
      throw error;
    },
  );
}

/** A client-result call, traced from the caller's span until the client's answer (or failure). */
export function traceClientResult<T>(lifetime: object, method: string, invoke: () => Promise<T>): Promise<T> {
  if (!telemetry.tracesOn) return invoke();
  const span = startChildSpan(lifetime, method, 'connection', 'invoke');
  if (span === null) return invoke();
  const called = otel!.context.with(otel!.trace.setSpan(otel!.context.active(), span), invoke);
  return called.then(
    (result) => {
      span.end();
      return result;
    },
    (error: unknown) => {
      failSpan(span, error);
      span.end();
      throw error;
    },
  );
}

/**
 * A message another instance published with trace context: a CONSUMER span around its local
 * delivery, child of the publisher's span. Null when the message carried none or nothing listens.
 */
export function traceBackplaneDelivery(lifetime: object, carrier: HeaderCarrier | null): Span | null {
  if (carrier === null || !telemetry.tracesOn) return null;
  const parent = extractParent(carrier);
  if (parent === undefined) return null;
  const hub = hubOf(lifetime);
  const api = otel!;
  return telemetry.tracer!.startSpan(
    `${hub} receive`,
    { kind: api.SpanKind.CONSUMER, attributes: { [Attributes.rpcSystem]: 'signalr', [Attributes.rpcService]: hub } },
    parent,
  );
}
