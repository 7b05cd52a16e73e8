/** Latency samples (ms) in a fixed array; past capacity, reservoir sampling keeps a uniform sample. */
export class LatencyRecorder {
  private readonly samples: Float64Array;
  private seen = 0;

  constructor(private readonly capacity = 200_000) {
    this.samples = new Float64Array(capacity);
  }

  get count(): number {
    return this.seen;
  }

  record(ms: number): void {
    const seen = this.seen++;
    if (seen < this.capacity) this.samples[seen] = ms;
    else {
      const slot = Math.floor(Math.random() * (seen + 1));
      if (slot < this.capacity) this.samples[slot] = ms;
    }
  }

  reset(): void {
    this.seen = 0;
  }

  summary(): LatencySummary {
    const n = Math.min(this.seen, this.capacity);
    if (n === 0) return { count: 0, p50: NaN, p99: NaN, max: NaN };
    const sorted = this.samples.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))];
    return { count: this.seen, p50: at(0.5), p99: at(0.99), max: sorted[n - 1] };
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Median of the finite values (NaN when none): how repeated runs are folded into one figure. */
export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
}
