/*
 * The benchmark suite: every contender in the same invocation, workload by workload, with a table of
 * absolute figures and ratios to the baselines (raw ws, Socket.IO), appended to bench/RESULTS.md.
 *
 *   npm run bench                         all workloads, quick sizes (a few minutes)
 *   npm run bench -- --full               the sizes (10k/50k connections, longer phases)
 *   npm run bench:broadcast               one workload (also: echo groups memory churn cluster slow workers telemetry proxy)
 *   bash bench/run.sh echo --reps 3 --connections 500 --no-write
 *
 * Flags (or env): --full (BENCH_FULL=1), --reps N (BENCH_REPS, default 2), --connections N
 * (BENCH_CONNECTIONS), --smoke (tiny sizes, for the smoke test), --no-write (do not touch RESULTS.md),
 * --json FILE (also write the medians as JSON), --only a,b (contenders: signalr-json, signalr-msgpack,
 * raw-ws, socketio, nest-ws). BENCH_SERVER_NODE_ARGS adds node flags to the servers, e.g.
 * BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' bash bench/run.sh broadcast --only signalr-json --reps 1
 */
import { broadcast } from './workloads/broadcast.js';
import { churn } from './workloads/churn.js';
import { cluster } from './workloads/cluster.js';
import { echo } from './workloads/echo.js';
import { groups } from './workloads/groups.js';
import { memory } from './workloads/memory.js';
import { slowConsumers } from './workloads/slow-consumers.js';
import { workers } from './workloads/workers.js';
import { proxy } from './workloads/proxy.js';
import { telemetry } from './workloads/telemetry.js';
import { CONTENDERS } from './support/contenders.js';
import { appendResults, renderRun } from './support/report.js';
import { Suite, tablesAsJson } from './support/suite.js';
import * as fs from 'fs';
import type { ProtocolName } from './load/wire-protocols.js';

const WORKLOADS: Record<string, (suite: Suite) => Promise<void>> = {
  broadcast,
  echo,
  groups,
  memory,
  churn,
  cluster,
  slow: slowConsumers,
  workers,
  telemetry,
  proxy,
};

function parse(argv: string[]) {
  const names: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) names.push(arg);
    else if (['--reps', '--connections', '--json', '--only'].includes(arg)) flags.set(arg, argv[++i]);
    else flags.set(arg, true);
  }
  const number = (flag: string, env: string | undefined) => {
    const value = flags.get(flag) ?? env;
    return value === undefined || value === true ? undefined : Number(value);
  };
  const smoke = flags.has('--smoke');
  return {
    names: names.length > 0 ? names : Object.keys(WORKLOADS),
    write: !flags.has('--no-write') && !smoke,
    json: typeof flags.get('--json') === 'string' ? (flags.get('--json') as string) : undefined,
    options: {
      full: flags.has('--full') || process.env.BENCH_FULL === '1',
      smoke,
      reps: number('--reps', process.env.BENCH_REPS) ?? (smoke ? 1 : 2),
      connections: number('--connections', process.env.BENCH_CONNECTIONS),
      only: typeof flags.get('--only') === 'string' ? ((flags.get('--only') as string).split(',') as ProtocolName[]) : undefined,
    },
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { names, write, json, options } = parse(argv);
  const unknown = names.filter((name) => !(name in WORKLOADS));
  const unknownContenders = (options.only ?? []).filter((name) => !(name in CONTENDERS));
  if (unknownContenders.length > 0) throw new Error(`unknown contender(s): ${unknownContenders.join(', ')}; known: ${Object.keys(CONTENDERS).join(', ')}`);
  if (unknown.length > 0) throw new Error(`unknown workload(s): ${unknown.join(', ')}; known: ${Object.keys(WORKLOADS).join(', ')}`);
  const startedAt = new Date();
  const suite = new Suite(options);
  await suite.start();
  try {
    for (const name of names) {
      const began = Date.now();
      console.log(`\n== ${name}`);
      await WORKLOADS[name](suite);
      console.log(`== ${name}: ${((Date.now() - began) / 1000).toFixed(1)} s`);
    }
  } finally {
    await suite.stop();
  }
  const markdown = renderRun(suite, argv, startedAt);
  console.log('\n' + markdown);
  if (json !== undefined) fs.writeFileSync(json, JSON.stringify(tablesAsJson(suite.tables), null, 2));
  if (write) {
    appendResults(markdown);
    console.log('Appended to bench/RESULTS.md');
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
