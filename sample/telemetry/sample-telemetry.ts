import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { DataPointType, MeterProvider, type MetricData } from '@opentelemetry/sdk-metrics';

/**
 * The sample's OpenTelemetry metrics: one MeterProvider, registered globally when this file is first
 * imported, so before the Nest app is created (main.ts imports it first; AppModule imports it too, for
 * the tests that build the app from the module). The SignalR module reads the global provider as its
 * server starts, as OpenTelemetry's own instrumentations do.
 *
 * The reader is the Prometheus exporter without its own server (`preventServerStart`): `GET /metrics`
 * on the app's port serializes what it collects, and the dashboard reads the same collection, so the
 * page and a scrape show the same numbers. Per process: in `npm run start:cluster` every worker has
 * its own provider (see MetricsController).
 */
const reader = new PrometheusExporter({ preventServerStart: true });
const serializer = new PrometheusSerializer();
const provider = new MeterProvider({ readers: [reader] });
if (!metrics.setGlobalMeterProvider(provider))
  throw new Error("A global OpenTelemetry MeterProvider was registered before the sample's: /metrics would miss the SignalR instruments.");

/** The collection under way: callers meanwhile share it rather than start their own. */
let pending: Promise<MetricReading> | null = null;

/** One collection of every instrument, by name, with the exposition text a scrape would get. */
export interface MetricReading {
  readonly metrics: ReadonlyMap<string, MetricData>;
  /** The Prometheus text format of the same collection. */
  readonly text: string;
}

async function collect(): Promise<MetricReading> {
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw new AggregateError(errors, 'Collecting the OpenTelemetry metrics failed');
  const byName = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
  return { metrics: byName, text: serializer.serialize(resourceMetrics) };
}

/**
 * Collects now, or joins the collection under way (every dashboard stream and scrape reads the numbers
 * of the moment it asks; none waits for an older collection).
 */
export function readMetrics(): Promise<MetricReading> {
  pending ??= collect().finally(() => (pending = null));
  return pending;
}

/** The sum of a counter's or up-down counter's points across attributes (0 when nothing was recorded). */
export function total(reading: MetricReading, name: string): number {
  const metric = reading.metrics.get(name);
  if (metric === undefined || metric.dataPointType !== DataPointType.SUM) return 0;
  return metric.dataPoints.reduce((sum, point) => sum + point.value, 0);
}

/** A histogram's count across attributes (0 when nothing was recorded). */
export function histogramCount(reading: MetricReading, name: string): number {
  const metric = reading.metrics.get(name);
  if (metric === undefined || metric.dataPointType !== DataPointType.HISTOGRAM) return 0;
  return metric.dataPoints.reduce((sum, point) => sum + point.value.count, 0);
}
