import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BASELINES, CONTENDERS } from './contenders.js';
import { folded, format, Suite, WorkloadTable } from './suite.js';

const BASELINE_SHORT: Record<string, string> = { 'raw-ws': 'raw ws', socketio: 'Socket.IO' };

/** One workload as a Markdown table: absolute medians, then each ratio metric ÷ each baseline. */
export function renderTable(table: WorkloadTable): string {
  const ratioMetrics = table.metrics.filter((metric) => metric.ratio);
  const header = ['case', 'contender', ...table.metrics.map((m) => m.label)];
  for (const metric of ratioMetrics) for (const base of BASELINES) header.push(`${metric.label} ÷ ${BASELINE_SHORT[base]}`);
  const lines = [`### ${table.title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const [caseName, row] of table.cells) {
    const medians = new Map([...row].map(([name, reps]) => [name, folded(reps)]));
    for (const [name, values] of medians) {
      const cells = [caseName, CONTENDERS[name].label, ...table.metrics.map((m) => format(values[m.key], m.digits ?? 1))];
      for (const metric of ratioMetrics) {
        for (const base of BASELINES) {
          const baseline = medians.get(base)?.[metric.key];
          cells.push(baseline === undefined ? '–' : `${format(values[metric.key] / baseline, 2)}×`);
        }
      }
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  if (table.notes.length > 0) lines.push('', ...table.notes.map((note) => `- ${note}`));
  return lines.join('\n');
}

export function machineLine(): string {
  const cpus = os.cpus();
  return `${os.availableParallelism?.() ?? cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at the end`;
}

/** The whole run as Markdown: when, where, with what settings, then every table. */
export function renderRun(suite: Suite, argv: string[], startedAt: Date): string {
  const settings = `${suite.options.full ? 'full sizes' : suite.options.smoke ? 'smoke sizes' : 'quick sizes'}, ${suite.options.reps} repetition(s) per contender (order alternates; figures are medians)`;
  return [
    `## Run of ${startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC`,
    '',
    `- Machine: ${machineLine()}`,
    `- Command: \`bench/run.sh ${argv.join(' ')}\` (${settings})`,
    `- Servers pinned to core 1, generator to core 0 (taskset); compression off everywhere.`,
    '',
    ...suite.tables.filter((table) => table.cells.size > 0).map((table) => renderTable(table) + '\n'),
  ].join('\n');
}

const RESULTS = path.join(__dirname, '..', 'RESULTS.md');

export function appendResults(markdown: string): void {
  if (!fs.existsSync(RESULTS)) {
    fs.writeFileSync(RESULTS, '# Benchmark results\n\nEach `npm run bench` appends its run here (see bench/README.md for what each workload does).\n\n');
  }
  fs.appendFileSync(RESULTS, markdown + '\n');
}
