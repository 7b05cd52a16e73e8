import { MAX_SWEEP_INTERVAL } from '../signalr.constants.js';

/** Something that checks its connections' timers on every tick. */
export interface Sweepable {
  sweep(now: number): void;
}

/**
 * One timer for every connection of every hub, instead of a timer per connection: idle connections
 * cost no timers. The tick is 1 s (ASP.NET's heartbeat) or finer when a hub uses shorter intervals.
 */
export class KeepAliveTicker {
  private timer: NodeJS.Timeout | null = null;
  private readonly targets = new Set<Sweepable>();

  constructor(private readonly intervalMs: number = MAX_SWEEP_INTERVAL) {}

  /** Picks a tick fine enough for the shortest of the given intervals. */
  static tickFor(intervals: number[]): number {
    const shortest = Math.min(MAX_SWEEP_INTERVAL * 4, ...intervals.filter((value) => value > 0));
    return Math.max(10, Math.min(MAX_SWEEP_INTERVAL, Math.floor(shortest / 4)));
  }

  add(target: Sweepable): void {
    this.targets.add(target);
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.targets.clear();
  }

  private tick(): void {
    const now = Date.now();
    for (const target of this.targets) target.sweep(now);
  }
}
