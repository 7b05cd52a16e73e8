/*
 * `npm run fuzz`: hostile input against a server of its own while an official client keeps calling
 * Echo (see bench/fuzz/fuzzer.ts). Not part of `npm test`; test/e2e/fuzz.spec.ts runs a small pass.
 *
 *   npm run fuzz                          100,000 cases, a random seed (printed)
 *   npm run fuzz -- --quick               5,000 cases
 *   npm run fuzz -- --cases 20000 --seed 1234 --only json,messagepack --platform fastify
 *
 * Flags: --cases N (default 100000), --seed S (uint32; random when absent), --quick (5,000 cases),
 * --only a,b (categories: handshake json messagepack frames http), --avoid a,b (case families a
 * tree with the bug they find cannot pass yet: unwritable-results, messagepack-length-claims),
 * --concurrency N (default 32),
 * --platform express|fastify. Exits 1 on a crash or hang, an unanswered valid invocation, a lost
 * healthy invocation, or server RSS past the bounds (fuzzer.ts: RSS_GROWTH_BOUND_MB after GC,
 * RSS_PEAK_BOUND_MB at any sample), each over the figure after the warm-up.
 */
import { randomInt } from 'crypto';
import { AVOIDABLE, Avoidable } from './cases/hub-messages.js';
import { CATEGORIES, Category, FuzzOptions, FuzzReport, runFuzz, RSS_GROWTH_BOUND_MB, RSS_PEAK_BOUND_MB } from './fuzzer.js';

function parse(argv: string[]): FuzzOptions & { avoid: readonly Avoidable[] } {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (['--cases', '--seed', '--only', '--avoid', '--concurrency', '--platform'].includes(arg)) flags.set(arg, argv[++i]);
    else if (arg === '--quick') flags.set(arg, true);
    else throw new Error(`unknown flag ${arg}`);
  }
  const value = (flag: string) => (typeof flags.get(flag) === 'string' ? (flags.get(flag) as string) : undefined);
  const only = value('--only')?.split(',') as Category[] | undefined;
  const unknown = (only ?? []).filter((name) => !CATEGORIES.includes(name));
  if (unknown.length > 0) throw new Error(`unknown categories ${unknown.join(', ')}; known: ${CATEGORIES.join(', ')}`);
  const avoid = (value('--avoid')?.split(',') ?? []) as Avoidable[];
  const unknownAvoid = avoid.filter((name) => !AVOIDABLE.includes(name));
  if (unknownAvoid.length > 0) throw new Error(`unknown --avoid ${unknownAvoid.join(', ')}; known: ${AVOIDABLE.join(', ')}`);
  const platform = value('--platform') ?? 'express';
  if (platform !== 'express' && platform !== 'fastify') throw new Error('--platform is express or fastify');
  return {
    cases: Number(value('--cases') ?? (flags.has('--quick') ? 5000 : 100_000)),
    seed: value('--seed') !== undefined ? Number(value('--seed')) >>> 0 : randomInt(2 ** 32),
    categories: only,
    avoid,
    concurrency: value('--concurrency') !== undefined ? Number(value('--concurrency')) : undefined,
    platform,
  };
}

function print(report: FuzzReport): void {
  const out = (line = '') => console.log(line);
  out(`\nseed ${report.seed}: ${report.cases.toLocaleString('en-US')} cases in ${report.seconds.toFixed(1)} s`);
  out('\nCases per category:');
  for (const [category, count] of report.tally.cases) out(`  ${category.padEnd(12)} ${count.toLocaleString('en-US').padStart(8)}`);
  out('\nOutcomes (category · kind → what the server did):');
  for (const [key, count] of [...report.tally.outcomes].sort(([a], [b]) => a.localeCompare(b))) out(`  ${count.toLocaleString('en-US').padStart(7)}  ${key}`);
  const healthy = report.healthy;
  out(
    `\nHealthy client: ${healthy ? `${healthy.sent} invocations, ${healthy.answered} answered, ${healthy.lost} lost, p50 ${healthy.p50.toFixed(2)} ms, p99 ${healthy.p99.toFixed(2)} ms, max ${healthy.max.toFixed(1)} ms${healthy.closed ? `, closed: ${healthy.closed}` : ''}` : 'did not finish'}`,
  );
  out(`Server crash or hang: ${report.crash ?? 'none'}`);
  out(`Unanswered valid invocations: ${report.tally.unanswered.length}`);
  for (const line of report.tally.unanswered.slice(0, 20)) out(`  ${line}`);
  out(`Unreadable server frames: ${report.tally.unreadable.length}`);
  for (const line of report.tally.unreadable.slice(0, 10)) out(`  ${line}`);
  out(
    `Server RSS: ${report.rssMb.before.toFixed(1)} MB after warm-up, ${report.rssMb.after.toFixed(1)} MB after the run (after GC; bound +${RSS_GROWTH_BOUND_MB} MB), peak ${report.rssMb.peak.toFixed(1)} MB (bound +${RSS_PEAK_BOUND_MB} MB)`,
  );
  for (const jump of report.rssJumps.slice(0, 10)) out(`  RSS jump: ${jump}`);
  out(
    `Hub connections the server still held after the run: ${report.connectionsLeft} (waited ${report.drainSeconds.toFixed(1)} s for them to end, at most 20 s)`,
  );
  out(`Server log lines: ${JSON.stringify(report.logLines)}`);
  for (const [shape, count] of Object.entries(report.logShapes).sort(([, a], [, b]) => b - a)) out(`  ${String(count).padStart(6)}  ${shape}`);
  out(report.failures.length === 0 ? '\nPASS' : `\nFAIL\n${report.failures.map((line) => `  ${line}`).join('\n')}`);
}

async function main(): Promise<number> {
  const options = parse(process.argv.slice(2));
  console.log(
    `fuzz: ${options.cases} cases, seed ${options.seed} (repeat with --seed ${options.seed}), ${options.platform}${options.avoid.length > 0 ? `, avoiding ${options.avoid.join(', ')}` : ''}`,
  );
  const report = await runFuzz({ ...options, log: (line) => console.log(line) });
  print(report);
  return report.failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
