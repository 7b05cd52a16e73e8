import { LoggerService } from '@nestjs/common';
import { SignalRModule } from '../../src/index.js';
import { ClientCausedLogs, RATE_LIMITED_LINES } from '../../src/logging/rate-limited-log.js';
import { StrictInputHub } from '../fixtures/robust-input.hubs.js';
import { startApp, TestApp } from '../support/app.js';
import { RawSocket, RS } from '../support/raw-socket.js';

const HUB = '/hubs/robust/strict';
/**
 * Connections of each kind in the attack: 250 bad handshakes and 250 malformed messages. Each kind's
 * window opens with its first line and lasts 10 s, so the attack on it must end within that even on a
 * loaded machine (2,000 connections once took over 20 s there).
 */
const ATTACKERS = 250;
/** Sockets opened at once, so the attack is quick without exhausting the machine. */
const CONCURRENCY = 50;

/** Nest's log lines as `<level> <context>: <message>`, every level included. */
function lineLogger(lines: string[]): LoggerService {
  const push =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) =>
      lines.push(`${level} ${String(rest[rest.length - 1])}: ${String(message)}`);
  return { log: push('log'), warn: push('warn'), error: push('error'), fatal: push('fatal'), debug: push('debug'), verbose: push('verbose') };
}

async function inBatches(count: number, attack: () => Promise<void>): Promise<void> {
  for (let done = 0; done < count; done += CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count - done) }, attack));
  }
}

/**
 * A client's bad input must not cost the server one log line per message: each kind of line is
 * written RATE_LIMITED_LINES times per window, then counted, and the window's end writes one summary.
 */
describe('log lines under a flood of bad input', () => {
  let app: TestApp;
  const lines: string[] = [];

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [StrictInputHub] }, (nest) => nest.useLogger(lineLogger(lines)));
  });
  afterAll(() => app.close());

  /** Each test starts with fresh windows and no lines, whatever the one before it left. */
  function freshWindows(): void {
    for (const log of Object.values(ClientCausedLogs)) log.endWindow();
    lines.length = 0;
  }

  it('writes at most 5 lines per kind for 500 malformed messages on 500 connections, then one summary per kind', async () => {
    freshWindows();
    await inBatches(ATTACKERS, async () => {
      const raw = await RawSocket.open(app.url(HUB));
      raw.sendText(`{"protocol":"nope","version":1}${RS}`);
      await raw.closed();
    });
    await inBatches(ATTACKERS, async () => {
      const raw = await RawSocket.handshaken(app.url(HUB));
      raw.sendText(`{"type":1,${RS}`);
      await raw.closed();
    });
    // The attack took less than the 10 s window; ending it now writes what the window's timer would.
    ClientCausedLogs.handshakeFailed.endWindow();
    ClientCausedLogs.badInput.endWindow();

    const handshake = /^debug SignalR: Handshake failed for connection [\w-]+: The protocol 'nope' is not supported\.$/;
    const closing = /^debug SignalR: Closing connection [\w-]+: /;
    expect(RATE_LIMITED_LINES).toBe(5);
    expect(lines).toHaveLength(2 * RATE_LIMITED_LINES + 2);
    expect(lines.slice(0, 5).every((line) => handshake.test(line))).toBe(true);
    expect(lines.slice(5, 10).every((line) => closing.test(line))).toBe(true);
    expect(lines.slice(10)).toEqual([
      'debug SignalR: 245 more log line(s) about handshake failures suppressed (at most 5 are written every 10 s).',
      'debug SignalR: 245 more log line(s) about connections closed for bad input suppressed (at most 5 are written every 10 s).',
    ]);
  });

  it('limits binding failures too: 200 invocations with the wrong argument count write 5 lines and one summary, and each is answered', async () => {
    freshWindows();
    const raw = await RawSocket.handshaken(app.url(HUB));
    const calls = Array.from({ length: 200 }, (_, i) => ({ type: 1, invocationId: String(i), target: 'Echo', arguments: [1, 2] }));
    raw.send(...calls);
    const answers = await raw.nextRecords(200);
    raw.close();
    ClientCausedLogs.invalidParameters.endWindow();

    expect(answers.map((answer) => answer.error)).toEqual(calls.map(() => "Failed to invoke 'Echo' due to an error on the server."));
    const binding = lines.filter((line) => line.includes('Parameters to hub method'));
    expect(binding).toEqual(
      Array(RATE_LIMITED_LINES).fill(
        "debug SignalR:StrictInputHub: Parameters to hub method 'Echo' are incorrect. InvalidDataException: Invocation provides 2 argument(s) but target expects 1.",
      ),
    );
    expect(lines.filter((line) => line.includes('suppressed'))).toEqual([
      'debug SignalR: 195 more log line(s) about invocations with incorrect parameters suppressed (at most 5 are written every 10 s).',
    ]);
  });
});
