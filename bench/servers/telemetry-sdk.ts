/*
 * The OpenTelemetry SDK as an app would register it (BENCH_OTEL=1): metrics read every second by a
 * periodic reader, every span sampled and batched, AsyncLocalStorage context. The exporters only
 * count what they get, so the figures are the instrumentation's cost, not an exporter's network I/O.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';

const SUCCESS = { code: 0 };

/** What the exporters received, for a sanity check that telemetry really was on. */
const exported = { spans: 0, metricExports: 0 };

class CountingSpanExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    exported.spans += spans.length;
    done(SUCCESS);
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

class CountingMetricExporter implements PushMetricExporter {
  export(_metrics: ResourceMetrics, done: (result: { code: number }) => void): void {
    exported.metricExports++;
    done(SUCCESS);
  }
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let tracerProvider: BasicTracerProvider | null = null;

/** What the exporters received so far, after the pending span batch went out. */
export async function exportedSoFar(): Promise<typeof exported> {
  await tracerProvider?.forceFlush();
  return exported;
}

/**
 * `signals`: 'on' (metrics and traces, every trace sampled), 'metrics' or 'traces' alone, or
 * 'sampled' (both, 1 trace in 10 sampled, as production setups often do), or 'context' (only the
 * AsyncLocalStorage context manager, no provider).
 */
export function registerTelemetrySdk(signals = 'on'): void {
  if (signals !== 'metrics') {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    // 'context': the context manager alone, what any app with OpenTelemetry tracing pays whatever we
    // record. Enabled as in an app: the SDK's exporters (the metric reader's first export) and any
    // instrumentation call context.with, and from then on every async resource carries its store.
    if (signals === 'context') {
      context.with(context.active(), () => undefined);
      return;
    }
    const sampler = signals === 'sampled' ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }) : undefined;
    tracerProvider = new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(new CountingSpanExporter())] });
    trace.setGlobalTracerProvider(tracerProvider);
  }
  if (signals === 'traces') return;
  metrics.setGlobalMeterProvider(
    new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: new CountingMetricExporter(), exportIntervalMillis: 1000 })] }),
  );
}
