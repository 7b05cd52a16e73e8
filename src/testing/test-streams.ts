import { MessageType } from '../protocol/hub-messages.js';
import type { InMemoryPeer } from './in-memory-transport.js';

/**
 * The items of a streaming hub method, as `HubTestClient.stream` returns them: iterate with
 * `for await`, collect with `toArray()`, or stop the server side with `cancel()`.
 *
 * @example
 * const ticks = hub.stream<number>('ticks');
 * for await (const tick of ticks) if (tick === 2) ticks.cancel();
 */
export class HubTestStream<T> implements AsyncIterable<T> {
  /** The items received so far, in order. */
  readonly items: T[] = [];
  private done = false;
  private error: Error | undefined;
  private waiters: Array<() => void> = [];

  /** @internal */
  constructor(private readonly sendCancel: () => void) {}

  /** Whether the server completed the stream (or it was canceled or failed). */
  get completed(): boolean {
    return this.done;
  }

  /** Asks the server to stop the stream (CancelInvocation); iteration ends at once. */
  cancel(): void {
    if (this.done) return;
    this.sendCancel();
    this.end(undefined);
  }

  /** Every item until the server completes the stream; rejects with the stream's error. */
  async toArray(): Promise<T[]> {
    while (!this.done) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.error !== undefined) throw this.error;
    return [...this.items];
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let index = 0;
    for (;;) {
      if (index < this.items.length) {
        yield this.items[index++];
        continue;
      }
      if (this.done) break;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.error !== undefined) throw this.error;
  }

  /** @internal */
  push(item: unknown): void {
    if (this.done) return;
    this.items.push(item as T);
    this.wake();
  }

  /** @internal */
  end(error: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

/**
 * A client-to-server stream (an upload), made by `HubTestClient.upload()`: pass it as an argument
 * of `invoke`, `send` or `stream`, then send its items and complete it.
 *
 * @example
 * const numbers = HubTestClient.upload<number>();
 * const sum = hub.invoke<number>('sum', numbers);
 * numbers.next(1);
 * numbers.next(2);
 * numbers.complete();
 * expect(await sum).toBe(3);
 */
export class TestUpload<T> {
  private peer: InMemoryPeer | null = null;
  private streamId: string | null = null;
  private readonly early: Array<() => void> = [];

  /** Sends one item (held until the upload was passed to an invocation). */
  next(item: T): void {
    this.run(() => this.peer!.write({ type: MessageType.StreamItem, invocationId: this.streamId!, item }));
  }

  /** Ends the upload; with `error`, the hub method sees the stream fail with it. */
  complete(error?: string): void {
    this.run(() => this.peer!.write({ type: MessageType.Completion, invocationId: this.streamId!, ...(error === undefined ? {} : { error }) }));
  }

  /** @internal Called when the upload is passed to an invocation. */
  bind(peer: InMemoryPeer, streamId: string): void {
    if (this.peer !== null) throw new Error('An upload can be passed to one invocation only.');
    this.peer = peer;
    this.streamId = streamId;
    for (const write of this.early.splice(0)) write();
  }

  private run(write: () => void): void {
    if (this.peer === null) this.early.push(write);
    else write();
  }
}
