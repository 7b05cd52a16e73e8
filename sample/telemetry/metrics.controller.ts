import { Controller, Get, Header } from '@nestjs/common';
import { readMetrics } from './sample-telemetry.js';

/**
 * `GET /metrics`: the OpenTelemetry metrics in Prometheus's text format, on the app's own port
 * (`curl localhost:3000/metrics`), the SignalR module's instruments among them.
 *
 * In `npm run start:cluster` each worker has its own MeterProvider and the port hands each scrape
 * to whichever worker is next, so one scrape shows one worker's numbers, and successive scrapes of
 * the same target alternate between workers: Prometheus would take every switch to a worker with a
 * lower count for a counter reset. Summing in the primary would need every worker to ship its
 * numbers over IPC at each scrape; Prometheus's own answer is one target per process, summed in the
 * query (`sum(signalr_server_active_connections)`). So the sample leaves it per worker: scrape
 * single instances (`npm start` on separate ports), or look at the cluster's `/metrics` by hand.
 */
@Controller()
export class MetricsController {
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    return (await readMetrics()).text;
  }
}
