import { setTimeout as delay } from 'timers/promises';
import { Hub, HubException, StreamCancellation } from '../../src/index.js';
import { MetricsService, MetricsSnapshot } from './metrics.service.js';

/** The shortest and longest update interval a client may ask for, in milliseconds. */
export const METRICS_INTERVAL = { min: 100, max: 60_000 } as const;

/**
 * The live dashboard: `connection.stream('Metrics', intervalMs)` sends a MetricsSnapshot at once and
 * then every `intervalMs`, until the client disposes its subscription or the connection ends. Open to
 * anonymous users, like the chat. With stateful reconnect a dropped WebSocket comes back to the same
 * connection, so the stream goes on without a gap (the `tick` numbers show it).
 */
@Hub('/hubs/dashboard', { allowStatefulReconnects: true })
export class DashboardHub extends Hub {
  constructor(private readonly counters: MetricsService) {
    super();
  }

  /**
   * Not a generator itself, so that a bad interval fails the call ("An unexpected error occurred
   * invoking 'Metrics' on the server. HubException: ...") before any stream starts.
   */
  metrics(intervalMs: number, @StreamCancellation() signal: AbortSignal): AsyncIterable<MetricsSnapshot> {
    if (!Number.isInteger(intervalMs) || intervalMs < METRICS_INTERVAL.min || intervalMs > METRICS_INTERVAL.max) {
      throw new HubException(`Interval must be a whole number of milliseconds from ${METRICS_INTERVAL.min} to ${METRICS_INTERVAL.max}.`);
    }
    return updates(this.counters, intervalMs, signal);
  }
}

/**
 * One client's updates. Dispose (or the end of the connection) fires `signal`: the pending wait
 * rejects, the loop ends and `finally` lets go of the shared event-loop histogram. A function rather
 * than a method: every public method of a hub is invocable, TypeScript's `private` included.
 */
async function* updates(counters: MetricsService, intervalMs: number, signal: AbortSignal): AsyncGenerator<MetricsSnapshot> {
  counters.eventLoopLag.acquire();
  counters.streams.running++;
  counters.streams.started++;
  try {
    let previous: { at: number; invocations: number } | null = null;
    for (let tick = 1; !signal.aborted; tick++) {
      const snapshot = await counters.snapshot(tick, previous, counters.eventLoopLag.read());
      previous = { at: Date.parse(snapshot.at), invocations: snapshot.invocations.total };
      yield snapshot;
      await delay(intervalMs, undefined, { signal });
    }
  } catch (error) {
    if (!signal.aborted) throw error; // the wait rejects with an AbortError on cancellation: not a failure
  } finally {
    counters.eventLoopLag.release();
    counters.streams.running--;
  }
}
