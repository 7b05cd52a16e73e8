import { IntervalHistogram, monitorEventLoopDelay } from 'perf_hooks';

/** How often the event-loop histogram samples, in milliseconds. */
const RESOLUTION_MS = 10;
/** The lag reported is the 99th percentile over windows of this length, in milliseconds. */
const WINDOW_MS = 1_000;

/**
 * The event-loop delay every Metrics stream reports, measured by one histogram shared by all of them:
 * each histogram is a native timer plus buckets, so one per stream would make thousands of streams
 * cost thousands of timers. The histogram runs while at least one stream holds it and is released
 * with the last one.
 */
export class EventLoopLag {
  private histogram: IntervalHistogram | null = null;
  private holders = 0;
  private windowStart = 0;
  /** The last completed window's value, or null before the first window ends. */
  private lastWindow: number | null = null;

  /** Histograms running now: 1 while any stream holds one, else 0. */
  get running(): number {
    return this.histogram === null ? 0 : 1;
  }

  /** Streams holding the histogram. */
  get holderCount(): number {
    return this.holders;
  }

  acquire(): void {
    if (this.holders++ > 0) return;
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    this.windowStart = Date.now();
    this.lastWindow = null;
  }

  release(): void {
    if (this.holders === 0 || --this.holders > 0) return;
    this.histogram?.disable();
    this.histogram = null;
  }

  /**
   * The 99th percentile of event-loop delay beyond the sampling resolution, in nanoseconds: over the
   * last completed window, or over what was sampled so far during the first one (0 before any sample).
   */
  read(): number {
    const histogram = this.histogram;
    if (histogram === null) return 0;
    const now = Date.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.lastWindow = beyondResolution(histogram);
      histogram.reset();
      this.windowStart = now;
    }
    return this.lastWindow ?? beyondResolution(histogram);
  }
}

/**
 * The histogram records the time between its samples, so an idle loop shows the resolution itself:
 * only what lies beyond it is lag. An empty histogram reports its lowest bucket, not 0.
 */
function beyondResolution(histogram: IntervalHistogram): number {
  return histogram.count === 0 ? 0 : Math.max(0, histogram.percentile(99) - RESOLUTION_MS * 1e6);
}
