import { Logger } from '@nestjs/common';
import { LogTexts } from '../signalr.messages.js';
import { logEvent } from './log-event.js';

type Level = 'debug' | 'log' | 'warn' | 'error';

/** Lines of one kind written per window before the rest are only counted. */
export const RATE_LIMITED_LINES = 5;
/** The window (ms) of RATE_LIMITED_LINES; its end writes the summary of what was held back. */
export const RATE_LIMIT_WINDOW_MS = 10_000;

/**
 * One kind of log line a client can cause at will (bad input, a throwing hub method): at most
 * `lines` per window are written, the rest only counted, and the window's end writes one summary
 * line with the count. A client sending garbage as fast as it can thus costs the log a few lines
 * per window, not one per message.
 *
 * Call sites ask before building their text (`if (log.allow()) logger.debug(...)`), so a held-back
 * line costs a clock read and a counter, no string. The summary rides on one unref'd timer per kind
 * (armed only once a line was held back), never one per connection.
 */
export class RateLimitedLog {
  private readonly logger: Logger;
  private windowEnd = 0;
  private written = 0;
  private suppressed = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly endOfWindow = () => this.endWindow();

  constructor(
    context: string,
    private readonly level: Level,
    /** What the lines are about, for the summary ("handshake failures"). */
    private readonly what: string,
    private readonly lines = RATE_LIMITED_LINES,
    /** Mutable so a test can shorten the window instead of waiting out the default. */
    public windowMs = RATE_LIMIT_WINDOW_MS,
  ) {
    this.logger = new Logger(context);
  }

  /** True when the caller may write its line now; false when it is counted for the summary instead. */
  allow(): boolean {
    const now = Date.now();
    if (now >= this.windowEnd) {
      if (this.suppressed > 0) this.endWindow();
      this.windowEnd = now + this.windowMs;
      this.written = 0;
    }
    if (this.written < this.lines) {
      this.written++;
      return true;
    }
    if (this.suppressed++ === 0) {
      this.timer = setTimeout(this.endOfWindow, Math.max(0, this.windowEnd - now));
      this.timer.unref();
    }
    return false;
  }

  /** Ends the current window: writes the summary of the lines held back (if any); the next line starts a new one. */
  endWindow(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.windowEnd = 0;
    const count = this.suppressed;
    this.suppressed = 0;
    if (count > 0) this.logger[this.level](logEvent('LogLinesSuppressed', LogTexts.linesSuppressed(count, this.what, this.lines, this.windowMs)));
  }
}

/**
 * The log lines a client's input can trigger, shared by every hub and connection of the process:
 * one limit per kind, whoever causes it.
 */
export const ClientCausedLogs = {
  /** A handshake that was malformed, asked for an unknown protocol, or timed out. */
  handshakeFailed: new RateLimitedLog('SignalR', 'debug', 'handshake failures'),
  /** A connection closed because its bytes did not parse or a message was too large. */
  badInput: new RateLimitedLog('SignalR', 'debug', 'connections closed for bad input'),
  /** A message of a kind the hub does not act on (a stream item or cancel for an unknown id, ...). */
  ignoredMessage: new RateLimitedLog('SignalR', 'debug', 'ignored messages'),
  /** A connection that stopped reading until its send buffer filled. */
  slowConsumer: new RateLimitedLog('SignalR', 'warn', 'slow connections closed'),
  /** A client result sent by a connection other than the one asked. */
  wrongConnectionResult: new RateLimitedLog('SignalR:ClientResults', 'warn', 'client results from the wrong connection'),
  /** Errors thrown by hub methods (a client can call a failing method in a loop). */
  hubMethodFailed: new RateLimitedLog('SignalR', 'error', 'hub method failures'),
  /** Errors escaping the hub layer while it handles a message (e.g. a result the protocol cannot write). */
  dispatchFailed: new RateLimitedLog('SignalR', 'error', 'errors dispatching messages'),
  /** Arguments or streams that do not fit the method they invoke. */
  invalidParameters: new RateLimitedLog('SignalR', 'debug', 'invocations with incorrect parameters'),
  /** Results, stream items or client-method arguments the hub protocol cannot write. */
  notSerialized: new RateLimitedLog('SignalR', 'warn', 'values that could not be serialized'),
  /** Requests on a connection by a user other than its owner (403). */
  userChanged: new RateLimitedLog('SignalR', 'warn', "requests by another user than the connection's"),
  /** Requests answered with 500 because something threw (a client can repeat the request that causes it). */
  requestFailed: new RateLimitedLog('SignalR', 'error', 'requests answered with 500'),
  /** Requests refused with 401 because `authenticate` threw (tokens that do not verify, among others). */
  authenticationFailed: new RateLimitedLog('SignalR', 'log', 'requests refused because authenticate threw'),
  /** Errors thrown by a raw connection handler (@ConnectionHandler), one per connection at most. */
  connectionHandlerFailed: new RateLimitedLog('SignalR', 'error', 'connection handler failures'),
};
