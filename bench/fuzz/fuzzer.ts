/*
 * The fuzzer: starts its own server (bench/fuzz/fuzz-server.ts, a child process with --expose-gc),
 * keeps an official client invoking Echo on it, and sends `cases` malformed or odd inputs from
 * `concurrency` workers across five categories. It watches the server (IPC health check and RSS
 * sample every 250 ms, process exit) and returns what it saw; `failures` lists what fails a run.
 */
import * as path from 'path';
import { Child } from '../support/ipc.js';
import { sleep } from '../support/clock.js';
import { handshakeCase } from './cases/handshakes.js';
import { Avoidable, hubMessageCase, WireProtocol } from './cases/hub-messages.js';
import { httpAgent, httpCase } from './cases/http-requests.js';
import { rawFrameCase } from './cases/raw-frames.js';
import { HealthyClient, HealthyReport } from './healthy-client.js';
import { HubSession } from './hub-session.js';
import { Prng } from './prng.js';
import { normalize, Tally } from './tally.js';

export const CATEGORIES = ['handshake', 'json', 'messagepack', 'frames', 'http'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Share of the cases each category gets (of those enabled). */
const WEIGHTS: Record<Category, number> = { handshake: 10, json: 30, messagepack: 30, frames: 10, http: 20 };

/** Memory the server may keep after the run (after forced GCs), over what it held after the warm-up. */
export const RSS_GROWTH_BOUND_MB = 50;
/** Memory the server may reach at any sampled moment over its after-warm-up figure. */
export const RSS_PEAK_BOUND_MB = 200;
/** A rise between two samples this large is reported with the cases in flight. */
const RSS_JUMP_MB = 50;

export interface FuzzOptions {
  cases: number;
  seed: number;
  /** Workers sending cases at once (each with its own connections). */
  concurrency?: number;
  platform?: 'express' | 'fastify';
  categories?: readonly Category[];
  /** Case families left out (see AVOIDABLE in cases/hub-messages.ts); none by default. */
  avoid?: readonly Avoidable[];
  /** Progress lines; silent when absent. */
  log?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  /** Time the cases took (warm-up included); the memory checks and the wait for connections to end come after. */
  seconds: number;
  /** Seconds after the last case until the server held no hub connection (or the 20 s limit). */
  drainSeconds: number;
  tally: Tally;
  crash: string | undefined;
  healthy: HealthyReport | undefined;
  rssMb: { before: number; after: number; peak: number };
  /** Sudden RSS rises, with the cases in flight when they happened. */
  rssJumps: string[];
  /** Hub connections the server still counted 20 s after the fuzzer closed its own (LP ones time out). */
  connectionsLeft: number;
  logLines: Record<string, number>;
  /** Server log lines by level and shape (ids, numbers folded). */
  logShapes: Record<string, number>;
  failures: string[];
}

const SERVER = path.join(__dirname, 'fuzz-server.ts');
const MB = 1024 * 1024;

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => undefined);
  const categories = options.categories ?? CATEGORIES;
  const concurrency = options.concurrency ?? 32;
  const avoid = options.avoid ?? [];
  const agent = httpAgent();
  const tally = new Tally();
  const server = new Child(SERVER, [], { nodeArgs: ['--expose-gc'], env: { SIGNALR_TEST_PLATFORM: options.platform ?? 'express' } });
  const { port } = await server.ready;
  const base = `http://127.0.0.1:${port}`;
  const began = Date.now();
  let crash: string | undefined;
  let peak = 0;
  let last = 0;
  const jumps: string[] = [];
  let next = 0;

  const stats = async (command: 'stats' | 'gc') => {
    const answer = await within(server.call(command), 5000, 'timeout' as const);
    if (answer === 'timeout') throw new Error(`the server did not answer a health check within 5 s`);
    peak = Math.max(peak, answer.memory.rss);
    // A jump names the cases in flight, so that it can be replayed (same seed, those indices).
    if (last > 0 && answer.memory.rss - last > RSS_JUMP_MB * MB) {
      jumps.push(`+${((answer.memory.rss - last) / MB).toFixed(0)} MB within 250 ms while cases ${Math.max(0, next - concurrency)}–${next - 1} were in flight`);
    }
    last = answer.memory.rss;
    return answer as { memory: NodeJS.MemoryUsage; connections: number; logLines: Record<string, number>; logShapes: Record<string, number> };
  };
  let watching = true;
  const watch = (async () => {
    while (watching && crash === undefined) {
      await stats('stats').catch((error: Error) => (crash ??= error.message));
      await sleep(250);
    }
  })();

  const categoryOf = (rng: Prng): Category => {
    const total = categories.reduce((sum, name) => sum + WEIGHTS[name], 0);
    let roll = rng.int(total);
    for (const name of categories) if ((roll -= WEIGHTS[name]) < 0) return name;
    return categories[0];
  };

  const worker = async (until: number) => {
    const sessions: Partial<Record<WireProtocol, HubSession>> = {};
    while (crash === undefined) {
      if (next >= until) break;
      const index = next++;
      const rng = Prng.forCase(options.seed, index);
      const category = categoryOf(rng);
      try {
        if (category === 'json' || category === 'messagepack') await hubCase(sessions, category, rng, index);
        else {
          const { kind, outcome } =
            category === 'handshake'
              ? await handshakeCase(rng, `${base.replace('http', 'ws')}/hubs/fuzz`)
              : category === 'frames'
                ? await rawFrameCase(rng, port)
                : await httpCase(rng, agent, port, `h${index}`, avoid);
          tally.count(category, kind, outcome);
        }
      } catch (error) {
        tally.count(category, 'fuzzer', `fuzzer error ${normalize((error as Error).message)}`);
      }
    }
    for (const session of Object.values(sessions)) session?.terminate();
  };

  const hubCase = async (sessions: Partial<Record<WireProtocol, HubSession>>, protocol: WireProtocol, rng: Prng, index: number) => {
    let session = sessions[protocol];
    if (session === undefined || !session.open) {
      session?.terminate();
      session = sessions[protocol] = HubSession.open(`${base.replace('http', 'ws')}/hubs/fuzz`, protocol);
      await session.ready;
    }
    const hub = hubMessageCase(rng, protocol, `c${index}`, avoid);
    const answered = new Set<string>();
    const waits: Promise<void>[] = hub.mustAnswer.map((id) => session.completion(id).then(() => void answered.add(id)));
    for (const frame of hub.frames) session.send(frame);
    // An Echo after the case: its answer shows the connection still serves (the server took the case in stride).
    const marker = `m${index}`;
    waits.push(session.completion(marker));
    session.sendEcho(marker);
    const outcome = await within(
      Promise.race([
        Promise.all(waits).then(() => 'kept open, answered'),
        session.closed.then(() => `closed: ${normalize(session.closeMessage ?? 'no Close message')} (${session.closeCode})`),
      ]),
      hub.mayHold ? 200 : 2000,
      hub.mayHold ? 'held (no answer within 200 ms; dropped)' : 'no answer within 2 s',
    );
    if (!outcome.startsWith('kept')) session.terminate();
    if (session.unreadable !== undefined) tally.unreadable.push(`${protocol} ${hub.kind} case ${index}: ${session.unreadable}`);
    for (const id of hub.mustAnswer) if (!answered.has(id)) tally.unanswered.push(`${protocol} ${hub.kind} case ${index}: ${outcome}`);
    tally.count(protocol, hub.kind, outcome);
  };

  let healthy: HealthyReport | undefined;
  const client = new HealthyClient(`${base}/hubs/fuzz`);
  let before = 0;
  let after = 0;
  let connectionsLeft = -1;
  let casesDone = Date.now();
  let drained = Date.now();
  let logLines: Record<string, number> = {};
  let logShapes: Record<string, number> = {};
  try {
    await client.start();
    // A warm-up (counted) before the baseline, so that compiled code and pools are in both figures.
    const warmup = Math.min(options.cases, Math.max(200, Math.floor(options.cases / 50)));
    await Promise.all(Array.from({ length: concurrency }, () => worker(warmup)));
    before = (await stats('gc')).memory.rss;
    peak = before;
    log(`seed ${options.seed}: warm-up of ${warmup} cases done, server RSS ${(before / MB).toFixed(1)} MB`);
    const progress = setInterval(
      () =>
        log(
          `  ${Math.min(next, options.cases)} / ${options.cases} cases, ${((Date.now() - began) / 1000).toFixed(0)} s, server RSS peak ${(peak / MB).toFixed(1)} MB`,
        ),
      10_000,
    );
    await Promise.all(Array.from({ length: concurrency }, () => worker(options.cases)));
    clearInterval(progress);
    casesDone = Date.now();
    healthy = await client.stop();
    if (crash === undefined) {
      after = (await stats('gc')).memory.rss;
      const deadline = Date.now() + 20_000;
      let state = await stats('stats');
      while (state.connections > 0 && Date.now() < deadline) {
        await sleep(250);
        state = await stats('stats');
      }
      connectionsLeft = state.connections;
      drained = Date.now();
      logLines = state.logLines;
      logShapes = state.logShapes;
    }
  } catch (error) {
    crash ??= `the run stopped: ${(error as Error).message}`;
  } finally {
    watching = false;
    await watch;
    await client.stop().catch(() => undefined);
    agent.destroy();
    await server.stop();
  }

  const report: FuzzReport = {
    seed: options.seed,
    cases: tally.total,
    seconds: (casesDone - began) / 1000,
    drainSeconds: Math.max(0, drained - casesDone) / 1000,
    tally,
    crash,
    healthy,
    rssMb: { before: before / MB, after: after / MB, peak: peak / MB },
    rssJumps: jumps,
    connectionsLeft,
    logLines,
    logShapes,
    failures: [],
  };
  report.failures = failuresOf(report);
  return report;
}

/** `promise`, or `late` after `ms` (the timer cleared either way, so none outlives the run). */
function within<T, L>(promise: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<L>((resolve) => (timer = setTimeout(() => resolve(late), ms)));
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** What fails a run: a crash, an unanswered invocation, healthy-client loss, memory past the bounds. */
function failuresOf(report: FuzzReport): string[] {
  const failures: string[] = [];
  if (report.crash !== undefined) failures.push(`server crashed or hung: ${report.crash}`);
  if (report.tally.unanswered.length > 0) failures.push(`${report.tally.unanswered.length} valid invocation(s) got no Completion`);
  if (report.tally.unreadable.length > 0) failures.push(`${report.tally.unreadable.length} server frame(s) could not be read`);
  if (report.healthy === undefined || report.healthy.lost > 0 || report.healthy.closed !== undefined) {
    failures.push(`healthy client lost ${report.healthy?.lost ?? 'all'} invocation(s)${report.healthy?.closed ? `; closed: ${report.healthy.closed}` : ''}`);
  }
  if (report.crash === undefined && report.rssMb.after - report.rssMb.before > RSS_GROWTH_BOUND_MB) {
    failures.push(`server RSS grew ${(report.rssMb.after - report.rssMb.before).toFixed(1)} MB after GC (bound ${RSS_GROWTH_BOUND_MB} MB)`);
  }
  if (report.rssMb.peak - report.rssMb.before > RSS_PEAK_BOUND_MB) {
    failures.push(`server RSS peaked ${(report.rssMb.peak - report.rssMb.before).toFixed(1)} MB over its baseline (bound ${RSS_PEAK_BOUND_MB} MB)`);
  }
  return failures;
}
