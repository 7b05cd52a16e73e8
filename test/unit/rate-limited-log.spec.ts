import { Logger, LoggerService } from '@nestjs/common';
import { RateLimitedLog } from '../../src/logging/rate-limited-log.js';

/** Nest's log lines as `<level> <context>: <message>`; `next()` resolves with the next line written. */
function capture() {
  const lines: string[] = [];
  let waiter: ((line: string) => void) | null = null;
  const push =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) => {
      const line = `${level} ${String(rest[rest.length - 1])}: ${String(message)}`;
      lines.push(line);
      waiter?.(line);
      waiter = null;
    };
  const logger: LoggerService = { log: push('log'), warn: push('warn'), error: push('error'), debug: push('debug'), verbose: push('verbose') };
  return { lines, logger, next: () => new Promise<string>((resolve) => (waiter = resolve)) };
}

describe('RateLimitedLog', () => {
  let log: ReturnType<typeof capture>;
  beforeEach(() => {
    log = capture();
    Logger.overrideLogger(log.logger);
  });
  afterAll(() => Logger.overrideLogger(false));

  it('allows the first lines of a window, counts the rest and writes one summary at the window end', async () => {
    const limited = new RateLimitedLog('SignalR', 'warn', 'test lines', 3, 100);
    const answers = Array.from({ length: 10 }, () => limited.allow());
    expect(answers).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(log.lines).toEqual([]);
    expect(await log.next()).toBe('warn SignalR: 7 more log line(s) about test lines suppressed (at most 3 are written every 0.1 s).');
    // The next window starts with the next line.
    expect([limited.allow(), limited.allow(), limited.allow(), limited.allow()]).toEqual([true, true, true, false]);
    limited.endWindow();
    expect(log.lines).toEqual([
      'warn SignalR: 7 more log line(s) about test lines suppressed (at most 3 are written every 0.1 s).',
      'warn SignalR: 1 more log line(s) about test lines suppressed (at most 3 are written every 0.1 s).',
    ]);
  });

  it('arms no timer while under the limit, and one per kind once a line is held back', () => {
    const setTimeoutCalls = jest.spyOn(global, 'setTimeout');
    const clearTimeoutCalls = jest.spyOn(global, 'clearTimeout');
    const limited = new RateLimitedLog('SignalR', 'debug', 'test lines', 2, 60_000);
    limited.allow();
    limited.allow();
    expect(setTimeoutCalls).toHaveBeenCalledTimes(0);
    for (let i = 0; i < 1000; i++) limited.allow();
    expect(setTimeoutCalls).toHaveBeenCalledTimes(1);
    limited.endWindow();
    expect(clearTimeoutCalls).toHaveBeenCalledTimes(1);
    jest.restoreAllMocks();
    expect(log.lines).toEqual(['debug SignalR: 1000 more log line(s) about test lines suppressed (at most 2 are written every 60 s).']);
  });

  it('writes no summary for a window in which nothing was held back', () => {
    const limited = new RateLimitedLog('SignalR', 'debug', 'test lines', 2, 60_000);
    limited.allow();
    limited.endWindow();
    expect(log.lines).toEqual([]);
  });
});
