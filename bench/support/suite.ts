import { CONTENDERS, Contender } from './contenders.js';
import { Child } from './ipc.js';
import { median } from './recorder.js';
import type { ProtocolName } from '../load/wire-protocols.js';
import * as path from 'path';

/** The server runs on core 1 and the generator on core 0, where the machine has two cores. */
export const SERVER_CPU = 1;
export const GENERATOR_CPU = 0;

export interface SuiteOptions {
  /** The full sizes (10k/50k connections, longer phases) instead of the quick defaults. */
  full: boolean;
  /** Tiny sizes for the smoke test: proves the scripts run, measures nothing. */
  smoke: boolean;
  /** Times each contender runs every case; the order alternates between repetitions. */
  reps: number;
  /** Overrides the connection count of the connection-count workloads. */
  connections?: number;
  /** Runs only these contenders (where a workload has them). */
  only?: ProtocolName[];
}

/** How a metric is shown and which way is better. */
export interface MetricSpec {
  key: string;
  label: string;
  digits?: number;
  /** Adds "÷ raw ws" and "÷ Socket.IO" columns for this metric. */
  ratio?: boolean;
}

export interface WorkloadTable {
  workload: string;
  title: string;
  metrics: MetricSpec[];
  /** case → contender → measured values per repetition */
  cells: Map<string, Map<ProtocolName, Record<string, number>[]>>;
  notes: string[];
}

/** Shared state of one benchmark run: options, the generator process, and the collected figures. */
export class Suite {
  readonly tables: WorkloadTable[] = [];
  generator!: Child;

  constructor(readonly options: SuiteOptions) {}

  async start(): Promise<void> {
    // One throwaway start per server script fills the transpile cache (test/support/ts-register.js), so no measured
    // process loads the TypeScript compiler.
    for (const script of new Set(Object.values(CONTENDERS).map((contender) => contender.server))) {
      const warm = new Child(script, []);
      await warm.ready;
      await warm.stop();
    }
    const generatorArgs = process.env.BENCH_GENERATOR_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    this.generator = new Child(path.join(__dirname, '..', 'load', 'generator.ts'), [], { cpu: GENERATOR_CPU, nodeArgs: generatorArgs });
    await this.generator.ready;
  }

  async stop(): Promise<void> {
    await this.generator?.stop();
  }

  table(workload: string, title: string, metrics: MetricSpec[]): WorkloadTable {
    const table: WorkloadTable = { workload, title, metrics, cells: new Map(), notes: [] };
    this.tables.push(table);
    return table;
  }

  record(table: WorkloadTable, caseName: string, contender: ProtocolName, values: Record<string, number>): void {
    let row = table.cells.get(caseName);
    if (row === undefined) table.cells.set(caseName, (row = new Map()));
    let reps = row.get(contender);
    if (reps === undefined) row.set(contender, (reps = []));
    reps.push(values);
    const shown = Object.entries(values)
      .map(([k, v]) => `${k}=${format(v, 2)}`)
      .join(' ');
    console.log(`  [${table.workload}] ${caseName} · ${contender}: ${shown}`);
  }

  /**
   * Every repetition's contenders (those `--only` keeps), in its order: forward, then backward, so
   * drift hits all alike.
   */
  *runs(contenders: ProtocolName[]): Generator<Contender> {
    const chosen = this.options.only === undefined ? contenders : contenders.filter((name) => this.options.only!.includes(name));
    for (let rep = 0; rep < this.options.reps; rep++) {
      for (const name of rep % 2 === 0 ? chosen : [...chosen].reverse()) yield CONTENDERS[name];
    }
  }

  /** Starts a contender's server (pinned, --expose-gc), runs `body`, then stops it whatever happens. */
  async withServer<T>(contender: Contender, body: (server: Child, port: number) => Promise<T>, env: Record<string, string> = {}): Promise<T> {
    const extra = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const server = new Child(contender.server, [], { cpu: SERVER_CPU, nodeArgs: ['--expose-gc', ...extra], env });
    try {
      const { port } = await server.ready;
      return await body(server, port);
    } finally {
      await this.generator.call('closeAll').catch(() => undefined);
      await server.stop();
    }
  }
}

/** Connections one process can hold: the open-file limit run.sh reached, less room for everything else. */
export function connectionLimit(): number {
  const limit = Number(process.env.BENCH_FD_LIMIT);
  return Number.isFinite(limit) && limit > 0 ? limit - 500 : Infinity;
}

/** The counts this machine can hold; a note on the table names the ones left out and why. */
export function feasibleCounts(table: WorkloadTable, counts: number[]): number[] {
  const limit = connectionLimit();
  const skipped = counts.filter((count) => count > limit);
  if (skipped.length > 0) {
    table.notes.push(
      `${skipped.join(', ')} connections skipped: the open-file limit is ${process.env.BENCH_FD_LIMIT} (ulimit -Hn) and could not be raised; raise the hard limit to run them.`,
    );
  }
  return counts.filter((count) => count <= limit);
}

/** Server CPU time (ms) between two `stats` answers. */
export function cpuMsBetween(before: { cpu: NodeJS.CpuUsage }, after: { cpu: NodeJS.CpuUsage }): number {
  return (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1000;
}

export function format(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

/** The median of each metric over the repetitions. */
/** Every table as plain data (medians per case and contender), for tools and the smoke test. */
export function tablesAsJson(tables: WorkloadTable[]) {
  return tables.map((table) => ({
    workload: table.workload,
    title: table.title,
    cases: Object.fromEntries([...table.cells].map(([caseName, row]) => [caseName, Object.fromEntries([...row].map(([name, reps]) => [name, folded(reps)]))])),
  }));
}

export function folded(reps: Record<string, number>[]): Record<string, number> {
  const keys = new Set(reps.flatMap((rep) => Object.keys(rep)));
  return Object.fromEntries([...keys].map((key) => [key, median(reps.map((rep) => rep[key]))]));
}
