import { isObservable, Observable, Subscription } from 'rxjs';
import type { HubConnection } from '../connection/hub-connection.js';
import { CompletionMessage, MessageType, StreamItemMessage } from '../protocol/hub-messages.js';
import { StreamItemNotSerialized } from './hub-errors.js';
import { HubException } from './hub-exception.js';
import { hubTelemetry } from '../observability/hub-telemetry.js';
import { CANCELED } from '../observability/invocation-telemetry.js';

/*
 * Streaming both ways, as ASP.NET Core SignalR.
 *
 * Server→client: a hub method that returns an AsyncIterable (an `async *` generator, say) or an RxJS
 * Observable streams: the client's `connection.stream(...)` gets its items, then completion. Which
 * methods stream is known only from the returned value, so `invoke` of such a method and `stream` of
 * a plain one are refused with ASP.NET Core's texts after the call. `@StreamCancellation()` gives the
 * method an AbortSignal that fires when the client disposes its subscription or the connection ends;
 * the iterator is closed (`return()`, so `finally` blocks run) or the Observable unsubscribed either way.
 * A method with enhancers (guards, pipes, interceptors, or parameter decorators such as
 * `@StreamCancellation()`) runs through Nest's pipeline, which would await a returned Observable to
 * its last value; HubInvokerFactory carries it through whole, so such methods stream either way.
 *
 * Client→server: the client's upload streams (`Subject`s among the arguments; the JS client removes
 * them from `arguments` and lists `streamIds`) bind to the method's `@UploadStream()` parameters, in
 * order, each an `AsyncIterable`; the sent arguments bind to the other parameters. A stream
 * parameter never takes a sent argument, as in ASP.NET Core:
 *
 *   async upload(room: string, @UploadStream() lines: AsyncIterable<string>) { for await (const line of lines) ... }
 *   // client: connection.invoke('Upload', 'lobby', subject)
 *
 * The JS client overlooks a stream that directly follows another among the arguments, so put an
 * argument between two streams.
 */

/** ASP.NET Core's StreamBufferCapacity: items an upload may hold before the connection stops reading. */
export const UPLOAD_BUFFER_CAPACITY = 10;

/** Items written back to back before a streaming loop lets the write queue flush. */
const ITEMS_PER_TURN = 16;

export type StreamResult = AsyncIterable<unknown> | Observable<unknown>;

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

/** Which methods stream is only known from what they return: an AsyncIterable or an Observable. */
export function isStreamResult(value: unknown): value is StreamResult {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false; // the common case, cheaply
  return isAsyncIterable(value) || isObservable(value);
}

/** Releases a stream nobody will read (an `invoke` of a streaming method): closes the iterator, never subscribes. */
export function discardStream(value: StreamResult): void {
  if (isObservable(value)) return;
  try {
    void Promise.resolve(value[Symbol.asyncIterator]().return?.()).catch(() => undefined);
  } catch {
    // A throwing return() of user code: nothing left to release.
  }
}

const DONE: IteratorResult<unknown> = { done: true, value: undefined };

/**
 * One client upload, read by the hub method as an async iterable. Holds at most `capacity` items;
 * `push` returns a promise while it is full, which holds the connection's dispatch until the method
 * reads (or the upload ends), so a fast client is slowed down instead of growing memory.
 */
export class UploadStream implements AsyncIterableIterator<unknown> {
  private readonly items: unknown[] = [];
  private ended = false;
  private failure: HubException | null = null;
  private reader: { resolve(result: IteratorResult<unknown>): void; reject(error: unknown): void } | null = null;
  private resumeDispatch: (() => void) | null = null;

  constructor(private readonly capacity = UPLOAD_BUFFER_CAPACITY) {
    hubTelemetry.uploadOpened();
  }

  push(item: unknown): void | Promise<void> {
    if (this.ended) return;
    const reader = this.reader;
    if (reader !== null) {
      this.reader = null;
      reader.resolve({ done: false, value: item });
      return;
    }
    this.items.push(item);
    if (this.items.length < this.capacity) return;
    return new Promise((resolve) => {
      this.resumeDispatch = resolve;
    });
  }

  /** The client completed the upload, with an error that the reader sees as a HubException after the buffered items. */
  complete(error?: string): void {
    if (this.ended) return;
    this.ended = true;
    hubTelemetry.uploadClosed();
    if (error !== undefined) this.failure = new HubException(error);
    const reader = this.reader;
    if (reader === null) return;
    this.reader = null;
    if (this.failure !== null) reader.reject(this.failure);
    else reader.resolve(DONE);
  }

  /** Ends the upload for the server (the method finished, or the connection ended): buffered items are dropped. */
  close(): void {
    this.items.length = 0;
    this.failure = null;
    this.complete();
    this.release();
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.items.length > 0) {
      const value = this.items.shift();
      this.release();
      return Promise.resolve({ done: false, value });
    }
    if (this.ended) {
      const failure = this.failure;
      this.failure = null;
      return failure !== null ? Promise.reject(failure) : Promise.resolve(DONE);
    }
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<unknown>> {
    this.close();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }

  private release(): void {
    const resume = this.resumeDispatch;
    if (resume === null) return;
    this.resumeDispatch = null;
    resume();
  }
}

/** A server→client stream of one StreamInvocation, from the call of its method to its Completion. */
export class RunningStream {
  /** Fires on CancelInvocation and when the connection ends; handed to the method by `@StreamCancellation()`. */
  readonly aborter = new AbortController();
  /** Set once the stream is over for the client (cancelled, failed, completed, or the connection ended). */
  done = false;
  subscription: Subscription | null = null;
  /** Uploads of this invocation, ended with the stream. */
  uploads: UploadStream[] | null = null;
  /** While the method has not returned its stream (no uploads): settles once the stream has started or failed. */
  starting: Promise<void> | null = null;
  /** Its span and duration, while telemetry listens (ended once, by the first outcome). */
  observed: { end(error: unknown): void } | null = null;
  /** Reused for every item, so the per-item path allocates only what the protocol writes. */
  private readonly item: StreamItemMessage;

  constructor(readonly invocationId: string) {
    this.item = { type: MessageType.StreamItem, invocationId, item: undefined };
  }

  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /** Throws StreamItemNotSerialized when the protocol cannot write the item (nothing is queued then). */
  write(connection: HubConnection, item: unknown): void {
    this.item.item = item;
    try {
      connection.write(this.item);
    } catch (error) {
      throw new StreamItemNotSerialized(error);
    } finally {
      this.item.item = undefined;
    }
  }

  /** Stops producing: aborts the signal, unsubscribes; an iterator is returned by its loop. */
  stop(): void {
    if (this.done) return;
    this.done = true;
    this.observed?.end(CANCELED);
    this.aborter.abort();
    this.subscription?.unsubscribe();
    this.subscription = null;
    if (this.uploads !== null) for (const upload of this.uploads) upload.close();
  }
}

/** Streams of one connection, both ways, by id. */
export class ConnectionStreams {
  readonly running = new Map<string, RunningStream>();
  readonly uploads = new Map<string, UploadStream>();

  /** Ends everything when the connection ends: no iterator, subscription or held dispatch outlives it. */
  closeAll(): void {
    for (const stream of this.running.values()) stream.stop();
    this.running.clear();
    for (const upload of this.uploads.values()) upload.close();
    this.uploads.clear();
  }
}

/** Lets the write queue flush, and waits while the transport holds more than a quarter of the send limit. */
async function drain(connection: HubConnection): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const limit = connection.options.maximumSendBufferSize / 4;
  while (connection.isOpen && (connection.transport?.bufferedAmount ?? 0) > limit) {
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Sends a stream's items, then its Completion (`error` text from `describe` when it fails). Runs in the
 * caller's async scope, so the body of an async generator sees `this.context`. Items of an iterable
 * are read one at a time, and never faster than the connection takes them.
 */
export async function runStream(
  connection: HubConnection,
  stream: RunningStream,
  source: StreamResult,
  finish: (stream: RunningStream, error: unknown) => void,
): Promise<void> {
  if (isObservable(source)) {
    stream.subscription = source.subscribe({
      next: (item) => {
        if (stream.done) return;
        try {
          stream.write(connection, item);
        } catch (error) {
          // Thrown out of `next`, it would reach RxJS's unhandled-error report (a process crash).
          const subscription = stream.subscription;
          finish(stream, error);
          subscription?.unsubscribe(); // null while subscribe() runs: unsubscribed below once it returns
        }
      },
      error: (error) => finish(stream, error),
      complete: () => finish(stream, undefined),
    });
    // An Observable that completed during subscribe() leaves a closed subscription: nothing to keep.
    if (stream.done) stream.subscription?.unsubscribe();
    return;
  }
  let iterator: AsyncIterator<unknown>;
  try {
    iterator = source[Symbol.asyncIterator]();
  } catch (error) {
    finish(stream, error);
    return;
  }
  let written = 0;
  let completed = false;
  try {
    for (;;) {
      const result = await iterator.next();
      if (stream.done) break;
      if (result.done) {
        completed = true;
        break;
      }
      try {
        stream.write(connection, result.value);
      } catch (error) {
        finish(stream, error);
        break; // the producer is closed below, as for a cancellation
      }
      if (++written === ITEMS_PER_TURN) {
        written = 0;
        await drain(connection);
        if (stream.done) break;
      }
    }
  } catch (error) {
    finish(stream, error);
    return;
  }
  if (completed) {
    finish(stream, undefined);
    return;
  }
  // Cancelled, the connection ended, or an item could not be written: the producer's `finally` runs now.
  try {
    await iterator.return?.();
  } catch {
    // Errors while closing a cancelled stream go nowhere: the client is no longer listening.
  }
}

/** The Completion that ends a stream: no result, an error text on failure. */
export function streamCompletion(invocationId: string, error?: string): CompletionMessage {
  return error === undefined ? { type: MessageType.Completion, invocationId } : { type: MessageType.Completion, invocationId, error };
}
