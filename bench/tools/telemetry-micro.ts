/*
 * The instrumentation's own CPU per hub method invocation, in isolation (no sockets, no Nest): an
 * invocation observed as the dispatcher does (begin, run in its span's context, done), with the SDK
 * of bench/servers/telemetry-sdk.ts registered for the signals asked, against none.
 *
 *   node -r ./test/support/ts-register.js bench/tools/telemetry-micro.ts
 */
import { AsyncLocalStorage } from 'async_hooks';
import { fork } from 'child_process';
import { registerTelemetrySdk } from '../servers/telemetry-sdk.js';
import { invocationTelemetry } from '../../src/observability/invocation-telemetry.js';
import { refreshTelemetry } from '../../src/observability/telemetry-state.js';

const MODES = ['off', 'metrics', 'traces', 'on'];

async function measure(mode: string): Promise<void> {
  if (mode !== 'off') registerTelemetrySdk(mode);
  refreshTelemetry();
  // The hub call scope the dispatcher runs methods in (hub-call-scope.ts), so both stores are live.
  const scopes = new AsyncLocalStorage<object>();
  const connection = { request: { headers: {} } };
  let completed = 0;
  const done = () => void completed++;
  const method = () => Promise.resolve(1);
  const once = async () => {
    const observed = invocationTelemetry.begin('BenchHub', 'Echo', false, undefined, connection, done, done);
    const call = () => scopes.run({}, method).then(observed === null ? done : observed.done, done);
    await (observed === null ? call() : observed.run(call));
  };
  for (let i = 0; i < 20_000; i++) await once();
  const count = 200_000;
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) await once();
  const cpu = process.cpuUsage(before);
  process.send!({ mode, us: (cpu.user + cpu.system) / count });
}

if (process.argv[2] !== undefined) {
  void measure(process.argv[2]).then(() => process.exit(0));
} else {
  void (async () => {
    const results: Record<string, number> = {};
    // One process per mode: a registered SDK cannot be taken back cleanly.
    for (const mode of MODES) {
      const child = fork(__filename, [mode], { execArgv: process.execArgv });
      results[mode] = await new Promise<number>((resolve) => child.on('message', (message: { us: number }) => resolve(message.us)));
    }
    for (const mode of MODES) console.log(`${mode.padEnd(8)} ${results[mode].toFixed(2)} µs CPU per invocation (+${(results[mode] - results.off).toFixed(2)})`);
  })();
}
