import type { ServerResponse } from 'http';
import type { ConnectionTransport, TransportEvents, TransportOwner } from '../connection/connection-transport.js';
import { ReadGate } from './read-gate.js';
import { connectionTelemetry } from '../observability/connection-telemetry.js';

const NO_CACHE = {
  'Cache-Control': 'no-cache, no-store',
  Pragma: 'no-cache',
  Expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
  'Long-Running': 'true',
};

function answer(res: ServerResponse, status: number, body: Buffer | null, contentType: string): void {
  if (res.writableEnded) return;
  res.writeHead(status, { ...NO_CACHE, 'Content-Type': contentType, 'Content-Length': body === null ? 0 : body.length });
  res.end(body ?? undefined);
}

/** The immediate empty 200 that answers a connection's first poll, as the JS client requires. */
export function answerFirstPoll(res: ServerResponse): void {
  answer(res, 200, null, 'application/octet-stream');
}

/**
 * Long polling: the client keeps one GET outstanding and the server answers it with everything
 * queued; the client sends with POST and ends with DELETE. Between polls the connection is inactive
 * and is disposed after the disconnect timeout. No pings: the polls keep it alive.
 */
export class LongPollingTransport<T extends TransportOwner = TransportOwner> implements ConnectionTransport {
  readonly name = 'LongPolling' as const;
  readonly supportsBinary = true;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private poll: ServerResponse | null = null;
  private pollStartedAt = 0;
  /** When the last poll ended; null while one is outstanding. */
  private idleSince: number | null;
  /** The connection is over: polls get what is left, then 204. */
  private ended = false;
  /** The client was told the connection is over (a 204, or it ended the connection itself). */
  private told = false;
  /** Holds the POST being read while the connection's inbound queue is full. */
  private readonly gate = new ReadGate();
  /** The connection waits for the next poll to take what is queued (outbound backpressure). */
  private drainWatched = false;

  constructor(
    private readonly owner: T,
    private readonly events: TransportEvents<T>,
  ) {
    this.idleSince = Date.now();
  }

  /**
   * Whether a closed connection still has something to tell its client: bytes to collect (its Close
   * message), then the 204 that says the connection is over, as ASP.NET Core answers.
   */
  get lingering(): boolean {
    return this.ended && !this.told;
  }

  /** A poll: answered at once when data waits or the connection is over, otherwise held until data or timeout. */
  accept(res: ServerResponse): void {
    // A newer poll replaces an older one, which ends with 204.
    if (this.poll !== null) this.endPoll(204);
    if (this.queuedBytes > 0) {
      this.deliver(res);
      if (this.drainWatched) {
        this.drainWatched = false;
        this.events.drained?.(this.owner);
      }
      return;
    }
    if (this.ended) {
      this.told = true;
      return answer(res, 204, null, 'text/plain');
    }
    this.poll = res;
    this.pollStartedAt = Date.now();
    this.idleSince = null;
    res.on('close', () => {
      if (this.poll === res) this.pollEnded();
    });
  }

  send(data: Buffer): void {
    if (this.ended) return;
    this.queued.push(data);
    this.queuedBytes += data.length;
    if (this.poll !== null) this.deliver(this.poll);
  }

  get bufferedAmount(): number {
    return this.queuedBytes;
  }

  /** The hub side ended the connection: what is queued (the Close message) still goes to the next poll. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.gate.end();
    if (this.poll !== null) {
      if (this.queuedBytes > 0) this.deliver(this.poll);
      else this.endPoll(204);
    }
  }

  /** DELETE from the client: the connection ends now, queued data is dropped. */
  terminate(): void {
    this.queued = [];
    this.queuedBytes = 0;
    this.ended = true;
    this.told = true;
    this.gate.end();
    if (this.poll !== null) this.endPoll(204);
    this.events.transportClosed(this.owner, undefined, this);
  }

  pause(): void {
    this.gate.pause();
  }

  resume(): void {
    this.gate.resume();
  }

  readable(): Promise<void> | null {
    return this.gate.wait();
  }

  /** Reported on the next poll that takes what is queued. */
  watchDrain(): void {
    this.drainWatched = true;
  }

  /** Poll timeout (an empty 200, so the client polls again) and disposal of an inactive connection. */
  tick(now: number): void {
    const options = this.owner.options;
    if (this.poll !== null) {
      if (now - this.pollStartedAt >= options.pollTimeout) {
        answer(this.poll, 200, null, 'text/plain');
        this.pollEnded();
      }
    } else if (this.idleSince !== null && now - this.idleSince >= options.disconnectTimeout) {
      this.idleSince = null;
      this.queued = [];
      this.queuedBytes = 0;
      this.ended = true;
      this.told = true; // nobody is polling any more
      connectionTelemetry.timedOut(this.owner);
      this.gate.end();
      this.events.transportClosed(this.owner, undefined, this);
    }
  }

  private deliver(res: ServerResponse): void {
    const body = this.queued.length === 1 ? this.queued[0] : Buffer.concat(this.queued, this.queuedBytes);
    this.queued = [];
    this.queuedBytes = 0;
    answer(res, 200, body, 'application/octet-stream');
    // A poll answered at once is activity too: a client whose every poll finds data is not idle.
    this.pollEnded();
  }

  private endPoll(status: number): void {
    const poll = this.poll!;
    if (this.ended) this.told = true;
    answer(poll, status, null, 'text/plain');
    this.pollEnded();
  }

  private pollEnded(): void {
    this.poll = null;
    this.idleSince = Date.now();
  }
}
