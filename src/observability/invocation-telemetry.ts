import type { Attributes as OtelAttributes, Context, Histogram, Link, Span } from '@opentelemetry/api';
import { otel } from './otel-api.js';
import { Attributes, type InvocationOutcome, SHORT_SECONDS_BUCKETS, SignalRInstruments } from './telemetry-names.js';
import { telemetry, type TelemetryPart, type TelemetryState } from './telemetry-state.js';
import { extractParent, type HeaderCarrier } from './trace-context.js';
import { hubTelemetry } from './hub-telemetry.js';

/** What invocation telemetry reads of the calling connection: the request that started its transport. */
export interface InvokingConnection {
  readonly request: { readonly headers: HeaderCarrier } | null;
}

const OUTCOMES: readonly InvocationOutcome[] = ['success', 'error', 'canceled'];

/** Everything about one hub method made once: span name and attributes, metric attributes per outcome. */
class MethodEntry {
  readonly spanName: string;
  readonly spanAttributes: OtelAttributes;
  readonly outcomes = new Map<InvocationOutcome, OtelAttributes>();

  constructor(
    readonly hub: string,
    method: string,
  ) {
    // ASP.NET Core 9 names the activity `{hub type}/{method}`, the RPC span name of the conventions.
    this.spanName = `${hub}/${method}`;
    this.spanAttributes = { [Attributes.rpcMethod]: method, [Attributes.rpcSystem]: 'signalr', [Attributes.rpcService]: hub };
    for (const outcome of OUTCOMES) {
      this.outcomes.set(outcome, { [Attributes.rpcService]: hub, [Attributes.rpcMethod]: method, [Attributes.outcome]: outcome });
    }
  }
}

/** The error's type, as ASP.NET Core's `error.type` (the exception's type name). */
export function errorType(error: unknown): string {
  if (error instanceof Error) return error.constructor?.name || error.name || 'Error';
  return '_OTHER';
}

/**
 * One hub method invocation (or stream) being observed: its server span, whose context the method
 * runs in, and its duration. Ends once, with the first outcome reported.
 */
export class ObservedInvocation {
  private readonly startedAt = performance.now();
  private span: Span | null = null;
  private context: Context | null = null;
  private ended = false;

  /** The method's result: ends the invocation successfully, then hands the value on. */
  readonly done = (value: unknown): void => {
    this.end(undefined);
    this.onDone(value);
  };

  /** The method failed: ends the invocation with the error, then hands it on. */
  readonly failed = (error: unknown): void => {
    this.end(error);
    this.onFailed(error);
  };

  constructor(
    private readonly entry: MethodEntry,
    private readonly isStream: boolean,
    headers: HeaderCarrier | undefined,
    connection: InvokingConnection,
    private readonly onDone: (value: unknown) => void,
    private readonly onFailed: (error: unknown) => void,
  ) {
    if (isStream) hubTelemetry.streamOpened(entry.hub);
    if (telemetry.tracesOn) this.startSpan(headers, connection);
  }

  /** Runs `call` (the method) with the invocation's span as the active one. */
  run<T>(call: () => T): T {
    return this.context === null ? call() : otel!.context.with(this.context, call);
  }

  /** Ends the invocation: `error` undefined for success, CANCELED for a stream the client or the connection ended. */
  end(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (this.isStream) hubTelemetry.streamClosed(this.entry.hub);
    const outcome: InvocationOutcome = error === undefined ? 'success' : error === CANCELED ? 'canceled' : 'error';
    if (telemetry.metricsOn) invocationTelemetry.record(performance.now() - this.startedAt, this.entry.outcomes.get(outcome)!);
    const span = this.span;
    if (span === null) return;
    if (outcome === 'error') {
      span.setAttribute(Attributes.errorType, errorType(error));
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: otel!.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : undefined });
    }
    span.end();
  }

  /**
   * The parent, as ASP.NET Core 9: the trace context in the invocation's headers (the .NET client
   * sends it), linked to the connection's request; here, without headers, the request that started
   * the connection's transport is the parent (ASP.NET Core leaves such spans without one).
   */
  private startSpan(headers: HeaderCarrier | undefined, connection: InvokingConnection): void {
    const api = otel!;
    const fromConnection = connectionContext(connection);
    const fromHeaders = extractParent(headers);
    const parent = fromHeaders ?? fromConnection ?? api.ROOT_CONTEXT;
    let links: Link[] | undefined;
    if (fromHeaders !== undefined && fromConnection !== undefined) links = [{ context: api.trace.getSpanContext(fromConnection)! }];
    this.span = telemetry.tracer!.startSpan(this.entry.spanName, { kind: api.SpanKind.SERVER, attributes: this.entry.spanAttributes, links }, parent);
    this.context = api.trace.setSpan(parent, this.span);
  }
}

/** The outcome of a stream that was cancelled (by the client, or because its connection ended). */
export const CANCELED: unique symbol = Symbol('canceled');

const requestContexts = new WeakMap<object, Context | null>();

/** The trace context of the connection's transport request, read once per request. */
function connectionContext(connection: InvokingConnection): Context | undefined {
  const request = connection.request;
  if (request === null) return undefined;
  let context = requestContexts.get(request);
  if (context === undefined) requestContexts.set(request, (context = extractParent(request.headers) ?? null));
  return context ?? undefined;
}

/** Hub method invocations: spans and the duration histogram (whose count is the invocation count). */
export class InvocationTelemetry implements TelemetryPart {
  private duration: Histogram | null = null;
  private readonly hubs = new Map<string, Map<string, MethodEntry>>();

  bind(state: TelemetryState): void {
    this.duration = state.meter!.createHistogram(SignalRInstruments.invocationDuration, {
      unit: 's',
      description: 'The duration of hub method invocations (of streams: until their last item), by hub, method and outcome.',
      advice: { explicitBucketBoundaries: SHORT_SECONDS_BUCKETS },
    });
  }

  /**
   * Starts observing an invocation of `hub`'s `method`, or returns null when nothing listens (then
   * the caller uses its own callbacks). `done` and `failed` are what the caller does with the outcome.
   */
  begin(
    hub: string,
    method: string,
    isStream: boolean,
    headers: HeaderCarrier | undefined,
    connection: InvokingConnection,
    done: (value: unknown) => void,
    failed: (error: unknown) => void,
  ): ObservedInvocation | null {
    if (!telemetry.metricsOn && !telemetry.tracesOn) return null;
    return new ObservedInvocation(this.entry(hub, method), isStream, headers, connection, done, failed);
  }

  record(milliseconds: number, attributes: OtelAttributes): void {
    this.duration!.record(milliseconds / 1000, attributes);
  }

  private entry(hub: string, method: string): MethodEntry {
    let methods = this.hubs.get(hub);
    if (methods === undefined) this.hubs.set(hub, (methods = new Map<string, MethodEntry>()));
    let entry = methods.get(method);
    if (entry === undefined) methods.set(method, (entry = new MethodEntry(hub, method)));
    return entry;
  }
}

/** Invocation telemetry of the process. */
export const invocationTelemetry = telemetry.register(new InvocationTelemetry());
