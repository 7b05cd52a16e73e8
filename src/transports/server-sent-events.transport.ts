import type { ServerResponse } from 'http';
import type { ConnectionTransport, TransportEvents, TransportOwner } from '../connection/connection-transport.js';
import { ReadGate } from './read-gate.js';

const LF = 0x0a;
const CR = 0x0d;
const DATA_PREFIX = Buffer.from('data: ');
const LINE_END = Buffer.from('\r\n');
const EVENT_END = Buffer.from('\r\n\r\n');

/** Headers ASP.NET Core sends on an event stream; compression and buffering would hold events back. */
const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache,no-store',
  Pragma: 'no-cache',
  'Content-Encoding': 'identity',
  'Long-Running': 'true',
  'X-Accel-Buffering': 'no',
};

/**
 * Frames a payload as one event: each line becomes a `data: ` line (a CR before an LF is dropped),
 * then an empty line. JSON never holds a raw LF, so the usual case is a single line.
 */
export function formatEvent(payload: Buffer): Buffer {
  if (payload.indexOf(LF) === -1) return Buffer.concat([DATA_PREFIX, payload, EVENT_END]);
  const parts: Buffer[] = [];
  let start = 0;
  for (;;) {
    const lf = payload.indexOf(LF, start);
    let end = lf === -1 ? payload.length : lf;
    if (lf !== -1 && end > start && payload[end - 1] === CR) end--;
    parts.push(DATA_PREFIX, payload.subarray(start, end), LINE_END);
    if (lf === -1) break;
    start = lf + 1;
  }
  parts.push(LINE_END);
  return Buffer.concat(parts);
}

/**
 * Server-Sent Events: server-to-client messages as events on one long response; the client sends
 * with POST. Text only, so binary hub protocols are refused at the handshake.
 */
export class ServerSentEventsTransport<T extends TransportOwner = TransportOwner> implements ConnectionTransport {
  readonly name = 'ServerSentEvents' as const;
  readonly supportsBinary = false;
  /** Holds the POST being read while the connection's inbound queue is full. */
  private readonly gate = new ReadGate();
  private drainWatched = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly owner: T,
    private readonly events: TransportEvents<T>,
  ) {
    res.writeHead(200, STREAM_HEADERS);
    // EventSource fires `open` only once data arrives: a comment line gets it there at once.
    res.write(':\r\n');
    res.socket?.setNoDelay(true);
    // The client ends the stream by closing the EventSource: a clean end of the connection.
    res.on('close', () => {
      this.gate.end();
      events.transportClosed(owner, undefined, this);
    });
  }

  send(data: Buffer): void {
    if (!this.res.writableEnded) this.res.write(formatEvent(data));
  }

  get bufferedAmount(): number {
    return this.res.writableLength;
  }

  close(): void {
    this.gate.end();
    if (!this.res.writableEnded) this.res.end();
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

  /** Reports the response's next 'drain' (its socket took what was written; the connection's tick checks too). */
  watchDrain(): void {
    if (this.drainWatched || this.res.writableEnded) return;
    this.drainWatched = true;
    this.res.once('drain', () => {
      this.drainWatched = false;
      this.events.drained?.(this.owner);
    });
  }
}
