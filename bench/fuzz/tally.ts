/** What the fuzzer saw: cases per category and kind, and each outcome (close, status, answer) with its count. */
export class Tally {
  readonly cases = new Map<string, number>();
  readonly outcomes = new Map<string, number>();
  /** Valid-but-odd invocations that got no Completion: category, kind, seed-reproducible case index. */
  readonly unanswered: string[] = [];
  /** Frames from the server the fuzzer could not read (a server that wrote a broken record). */
  readonly unreadable: string[] = [];

  count(category: string, kind: string, outcome: string): void {
    this.cases.set(category, (this.cases.get(category) ?? 0) + 1);
    const key = `${category} · ${kind} → ${outcome}`;
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
  }

  get total(): number {
    let total = 0;
    for (const count of this.cases.values()) total += count;
    return total;
  }
}

/** An error or status text with its variable parts (numbers, quoted names, ids) folded, so outcomes group. */
export function normalize(text: string): string {
  return text
    .replace(/'[^']*'/g, "'…'")
    .replace(/"[^"]{20,}"/g, '"…"')
    .replace(/\d+/g, 'N')
    .slice(0, 140);
}
