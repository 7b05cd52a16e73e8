import { context, metrics, propagation, trace, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { isDeepStrictEqual } from 'util';

/** Collects on demand: the test asks for the numbers when it wants them. */
class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The real OpenTelemetry SDK, registered globally for one spec: metrics read in memory, spans exported in memory. */
export interface TestTelemetry {
  /** Every metric collected now, by name (across meters). */
  collect(): Promise<Map<string, { scope: string; metric: MetricData }>>;
  /** The value of a sum (counter, up-down counter, observable ones) at exactly `attributes`; 0 when absent. */
  sum(name: string, attributes?: Attributes): Promise<number>;
  /** A histogram's count and sum at exactly `attributes`; zeros when absent. */
  histogram(name: string, attributes: Attributes): Promise<{ count: number; sum: number }>;
  /** Every attribute set a metric has points for. */
  attributeSets(name: string): Promise<Attributes[]>;
  readonly spans: InMemorySpanExporter;
  finishedSpans(): ReadableSpan[];
  uninstall(): Promise<void>;
}

export function installTelemetry(): TestTelemetry {
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);

  const collect = async () => {
    const { resourceMetrics } = await reader.collect();
    const byName = new Map<string, { scope: string; metric: MetricData }>();
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics) byName.set(metric.descriptor.name, { scope: scope.scope.name, metric });
    return byName;
  };
  const point = async (name: string, attributes: Attributes) => {
    const found = (await collect()).get(name);
    return found?.metric.dataPoints.find((p) => isDeepStrictEqual({ ...p.attributes }, attributes));
  };
  return {
    collect,
    spans,
    finishedSpans: () => spans.getFinishedSpans(),
    async sum(name, attributes = {}) {
      const found = await point(name, attributes);
      return found === undefined ? 0 : (found.value as number);
    },
    async histogram(name, attributes) {
      const found = (await collect()).get(name);
      if (found !== undefined && found.metric.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`);
      const p = found?.metric.dataPoints.find((d) => isDeepStrictEqual({ ...d.attributes }, attributes));
      const value = p?.value as { count: number; sum?: number } | undefined;
      return { count: value?.count ?? 0, sum: value?.sum ?? 0 };
    },
    async attributeSets(name) {
      const found = (await collect()).get(name);
      return found === undefined ? [] : found.metric.dataPoints.map((p) => ({ ...p.attributes }));
    },
    async uninstall() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
      metrics.disable();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
