import * as http from 'http';
import { BroadcastCounter, GeneratorConnection } from './generator-connection.js';
import type { WireProtocol } from './wire-protocols.js';

/** Connections to the proxy or server are kept open and reused, as a browser's or the official Node client's are. */
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** How long the handshake response may take before the connection counts as failed (it never hangs the benchmark). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

interface Answer {
  status: number;
  body: Buffer;
}

/** One HTTP request to 127.0.0.1:`port`; resolves with the status and the whole body, never rejects on a status. */
export function httpRequest(port: number, method: string, path: string, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Length': body.length };
    const request = http.request({ host: '127.0.0.1', port, path, method, agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Negotiates (version 1) and returns the connection token. */
export async function negotiate(port: number, path: string): Promise<string> {
  const answer = await httpRequest(port, 'POST', path);
  if (answer.status !== 200) throw new Error(`negotiate: HTTP ${answer.status}`);
  return JSON.parse(answer.body.toString()).connectionToken;
}

/**
 * One generator connection over Long Polling, as the official client runs it: negotiate, a first GET
 * (answered at once), then one GET always outstanding to receive, a POST per send (the handshake
 * first), DELETE to end. Requests carry `id` and, polls, `_` (the client's cache buster). Replies are
 * timed with a FIFO of send times, like the WebSocket connections'. Any status other than the
 * protocol's ends the connection and is kept in `failure`: the benchmark reports it, it never waits.
 */
export class LongPollingConnection extends GeneratorConnection {
  private url = '';
  private over = false;
  private endPolling: () => void = () => undefined;
  /** What ended the connection against the protocol (an unexpected status, a network error). */
  failure: Error | null = null;
  /** Resolves once the poll loop has stopped. */
  readonly closed: Promise<void>;
  /** Resolves with the failure, if the connection fails. */
  readonly broken: Promise<Error>;
  private reportBroken: (error: Error) => void = () => undefined;

  constructor(
    private readonly port: number,
    protocol: WireProtocol,
    counter: BroadcastCounter,
  ) {
    super(protocol, counter);
    this.closed = new Promise((resolve) => (this.endPolling = resolve));
    this.broken = new Promise((resolve) => (this.reportBroken = resolve));
  }

  /** Negotiates, starts polling and completes the handshake. */
  async opened(): Promise<void> {
    const token = await negotiate(this.port, this.protocol.negotiatePath!);
    this.url = `${this.protocol.path}?id=${encodeURIComponent(token)}`;
    const first = await httpRequest(this.port, 'GET', this.pollPath());
    if (first.status !== 200) throw new Error(`first poll: HTTP ${first.status}`);
    const ready = this.handshakeDone();
    void this.pollLoop();
    this.post(Buffer.from(this.protocol.hello!));
    const timer = setTimeout(() => this.fail(new Error(`no handshake response within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
    await ready.finally(() => clearTimeout(timer));
  }

  answer(): void {
    // Only Socket.IO asks for answers; SignalR over Long Polling has no pings.
  }

  /** Calls still unanswered; none once the connection is over (nothing more will answer them). */
  get outstanding(): number {
    return this.over ? 0 : this.clock.outstanding;
  }

  request(frame: Buffer): void {
    if (this.over) return;
    this.clock.sent();
    this.post(frame);
  }

  /** Ends the connection with DELETE; the outstanding poll then ends with 204. */
  close(): void {
    if (this.over || this.url === '') return this.stop();
    httpRequest(this.port, 'DELETE', this.url).then(
      (answer) => {
        if (answer.status !== 202) this.fail(new Error(`DELETE: HTTP ${answer.status}`));
      },
      (error: Error) => this.fail(error),
    );
  }

  /** Gives up on the connection, counting it as failed for `reason` (calls that got no answer). */
  abandon(reason: string): void {
    this.fail(new Error(reason));
  }

  /** Stops at once, whatever the server still holds. */
  terminate(): void {
    this.stop();
  }

  private pollPath(): string {
    return `${this.url}&_=${Date.now()}`;
  }

  private async pollLoop(): Promise<void> {
    while (!this.over) {
      let answer: Answer;
      try {
        answer = await httpRequest(this.port, 'GET', this.pollPath());
      } catch (error) {
        this.fail(error as Error);
        break;
      }
      if (answer.status === 204) break; // the server ended the connection (after DELETE)
      if (answer.status !== 200) {
        this.fail(new Error(`poll: HTTP ${answer.status}`));
        break;
      }
      if (answer.body.length > 0) {
        try {
          this.protocol.read(answer.body, this.handshaken, this);
        } catch (error) {
          this.fail(error as Error);
        }
      }
    }
    this.stop();
  }

  private post(body: Buffer): void {
    httpRequest(this.port, 'POST', this.url, body).then(
      (answer) => {
        if (answer.status !== 200) this.fail(new Error(`POST: HTTP ${answer.status}`));
      },
      (error: Error) => this.fail(error),
    );
  }

  private fail(error: Error): void {
    if (this.failure === null && !this.over) {
      this.failure = error;
      this.reportBroken(error);
    }
    this.handshakeFailed(error);
    this.stop();
  }

  private stop(): void {
    this.over = true;
    this.endPolling();
  }
}
