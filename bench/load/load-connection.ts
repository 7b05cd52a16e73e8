import { WebSocket } from 'ws';
import { RequestClock } from './request-clock.js';
import type { FrameSink, WireProtocol } from './wire-protocols.js';

/** Where every connection of the generator reports broadcasts, so counting costs one call. */
export interface BroadcastCounter {
  onBroadcast(sentAt: number): void;
}

/** Plain stacks are ready once the socket is open; the others after their own handshake. */
const READY_ON_OPEN = new Set(['raw-ws', 'nest-ws']);

/**
 * One generator connection: a `ws` client speaking a protocol directly, with a FIFO of send times so
 * replies (which every contender answers in order) give round-trip latency without ids.
 */
export class LoadConnection implements FrameSink {
  private readonly socket: WebSocket;
  private handshaken = false;
  private readonly clock = new RequestClock();
  private onReady: (() => void) | null = null;
  private onFailed: ((error: Error) => void) | null = null;
  /** Called with the round-trip time of each reply. */
  onReply: ((ms: number) => void) | null = null;
  readonly closed: Promise<void>;

  constructor(
    url: string,
    private readonly protocol: WireProtocol,
    private readonly counter: BroadcastCounter,
    localAddress?: string,
  ) {
    this.socket = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, localAddress });
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('open', () => {
      if (protocol.hello !== null) this.socket.send(protocol.hello);
      if (READY_ON_OPEN.has(protocol.name)) this.ready();
    });
    this.socket.on('message', (data: Buffer) => {
      try {
        protocol.read(data, this.handshaken, this);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('closed before the handshake completed')));
  }

  /** Resolves once the protocol handshake is done. */
  opened(): Promise<void> {
    if (this.handshaken) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.onReady = resolve;
      this.onFailed = reject;
    });
  }

  ready(): void {
    this.handshaken = true;
    this.onReady?.();
    this.onReady = this.onFailed = null;
  }

  broadcast(sentAt: number): void {
    this.counter.onBroadcast(sentAt);
  }

  reply(): void {
    const ms = this.clock.replied();
    if (ms !== null) this.onReply?.(ms);
  }

  answer(frame: string): void {
    this.socket.send(frame);
  }

  get outstanding(): number {
    return this.clock.outstanding;
  }

  /**
   * From now on each request is answered by `replies` replies (a frame carrying that many
   * invocations): onReply then fires once per request, with the time to its last reply.
   */
  answeredBy(replies: number): void {
    this.clock.answeredBy(replies);
  }

  /** Sends a pre-built frame that the server answers once (or `answeredBy` times). */
  request(frame: Buffer): void {
    this.clock.sent();
    this.socket.send(frame, { binary: this.protocol.binary });
  }

  /** Stops reading: the kernel buffers fill and the server sees a consumer that does not keep up. */
  stopReading(): void {
    this.socket.pause();
  }

  close(): void {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    // A paused socket never reads the server's close frame, so it is cut instead.
    if (this.socket.isPaused) this.socket.terminate();
    else this.socket.close(1000);
  }

  terminate(): void {
    this.socket.terminate();
  }

  private fail(error: Error): void {
    this.onFailed?.(error);
    this.onReady = this.onFailed = null;
  }
}
