/*
 * Micro-benchmark: a typed call (`clients.all.m(x)`) against the untyped one (`clients.all.send('m', x)`),
 * 1e6 calls each with no connections, so the numbers are the proxy's own cost plus the lifetime manager's
 * fixed cost per send (the message object), not any socket work.
 *
 *   npx tsc -p bench/typed-proxy.tsconfig.json --outDir /tmp/nestjs-signalr-bench && node /tmp/nestjs-signalr-bench/bench/typed-proxy.js
 *
 * Each case runs in rounds after a warm-up; the best round is reported (the least disturbed by GC and
 * other processes), with the ratio typed / untyped.
 */
import { HubCallerClients, HubClients } from '../src/clients/hub-clients.js';
import { DefaultHubLifetimeManager } from '../src/lifetime/default-hub-lifetime-manager.js';

interface BenchClient {
  m(value: number): void;
}

const CALLS = 1_000_000;
const ROUNDS = 7;

const lifetime = new DefaultHubLifetimeManager();
const clients = new HubClients<BenchClient>(lifetime);
const callerClients = new HubCallerClients<BenchClient>(lifetime, 'caller-id');

/** Keeps the results alive, so the calls cannot be optimized away. */
let sink: Promise<void> | undefined;

function nsPerCall(call: (i: number) => Promise<void>): number {
  for (let i = 0; i < CALLS / 4; i++) sink = call(i);
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) sink = call(i);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / CALLS);
  }
  return best;
}

const cases: [string, (i: number) => Promise<void>, (i: number) => Promise<void>][] = [
  ['clients.all', (i) => clients.all.send('m', i), (i) => clients.all.m(i)],
  ['clients.caller', (i) => callerClients.caller.send('m', i), (i) => callerClients.caller.m(i)],
  ["clients.group('g')", (i) => clients.group('g').send('m', i), (i) => clients.group('g').m(i)],
];

console.log(`${CALLS} calls per round, best of ${ROUNDS} rounds, no connections (node ${process.version})`);
for (const [target, untyped, typed] of cases) {
  const send = nsPerCall(untyped);
  const call = nsPerCall(typed);
  console.log(
    `${target.padEnd(20)} send('m', x): ${send.toFixed(1).padStart(6)} ns/call   m(x): ${call.toFixed(1).padStart(6)} ns/call   ratio ${(call / send).toFixed(2)}`,
  );
}
void sink;
