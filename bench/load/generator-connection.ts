import { RequestClock } from './request-clock.js';
import type { FrameSink, WireProtocol } from './wire-protocols.js';

/** Where every connection of the generator reports broadcasts, so counting costs one call. */
export interface BroadcastCounter {
  onBroadcast(sentAt: number): void;
}

/**
 * What every generator connection does with what its protocol parser reports, whatever carries the
 * frames (a WebSocket, Long Polling requests): the handshake's outcome, broadcasts counted, replies
 * timed with a FIFO of send times. Subclasses carry the frames and say when a request goes out.
 */
export abstract class GeneratorConnection implements FrameSink {
  protected handshaken = false;
  protected readonly clock = new RequestClock();
  private onReady: (() => void) | null = null;
  private onFailed: ((error: Error) => void) | null = null;
  /** Called with the round-trip time of each reply. */
  onReply: ((ms: number) => void) | null = null;

  constructor(
    protected readonly protocol: WireProtocol,
    private readonly counter: BroadcastCounter,
  ) {}

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

  abstract answer(frame: string): void;

  /**
   * From now on each request is answered by `replies` replies (a frame carrying that many
   * invocations): onReply then fires once per request, with the time to its last reply.
   */
  answeredBy(replies: number): void {
    this.clock.answeredBy(replies);
  }

  /** Settles with the handshake: when the parser reports ready(), or with the error given to handshakeFailed(). */
  protected handshakeDone(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onReady = resolve;
      this.onFailed = reject;
    });
  }

  /** Fails a handshake still awaited; once it is done, nothing waits on it and this does nothing. */
  protected handshakeFailed(error: Error): void {
    this.onFailed?.(error);
    this.onReady = this.onFailed = null;
  }
}
