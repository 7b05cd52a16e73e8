import http, { IncomingHttpHeaders } from 'http';
import { Wakeup } from './wait.js';

/** A negotiated connection: its public id and the token clients send as `id=`. */
export interface Negotiated {
  connectionId: string;
  connectionToken: string;
}

/** POSTs negotiate (version 1) and returns the ids. */
export async function negotiate(hubUrl: string, init: RequestInit = {}): Promise<Negotiated> {
  const url = new URL(hubUrl);
  url.pathname += '/negotiate';
  url.searchParams.set('negotiateVersion', '1');
  const response = await fetch(url, { method: 'POST', ...init });
  if (response.status !== 200) throw new Error(`negotiate answered ${response.status}`);
  return (await response.json()) as Negotiated;
}

/** A plain HTTP response read whole. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request with Node's http module (keep-alive off, so nothing lingers), body read whole. */
export function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * An open event stream (GET with `Accept: text/event-stream`): its status and headers, and every
 * byte received so far; `until` waits for the text to satisfy a condition.
 */
export class EventStream {
  text = '';
  ended = false;
  private readonly arrivals = new Wakeup();

  private constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    private readonly req: http.ClientRequest,
  ) {}

  static open(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { headers: { Accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
        const stream = new EventStream(res.statusCode!, res.headers, req);
        res.on('data', (chunk: Buffer) => {
          stream.text += chunk.toString();
          stream.arrivals.wake();
        });
        res.on('end', () => {
          stream.ended = true;
          stream.arrivals.wake();
        });
        res.on('error', () => undefined);
        resolve(stream);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Resolves once `condition(text)` holds; rejects if the stream ends first without it. */
  async until(condition: (text: string) => boolean): Promise<string> {
    while (!condition(this.text)) {
      if (this.ended) throw new Error(`stream ended with ${JSON.stringify(this.text)}`);
      await this.arrivals.next();
    }
    return this.text;
  }

  /** Resolves when the server ends the stream. */
  async end(): Promise<void> {
    while (!this.ended) await this.arrivals.next();
  }

  close(): void {
    this.req.destroy();
  }
}
