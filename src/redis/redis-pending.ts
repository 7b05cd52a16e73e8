import { randomBytes } from 'crypto';
import { ClientResultTexts, clientResultIoError } from '../lifetime/client-results.js';
import { HubException } from '../hub/hub-exception.js';
import type { CompletionMessage } from '../protocol/hub-messages.js';
import { ClientResultCapTexts } from '../signalr.messages.js';
import { RedisTexts } from './redis-texts.js';

/**
 * Calls awaiting an answer from another instance, by id: each entry is settled once, and `release`
 * frees what it holds (a timer, a listener) whichever way it ends.
 */
abstract class PendingCalls<K, E extends { reject(error: Error): void }> {
  protected readonly entries = new Map<K, E>();

  constructor(private readonly release: (entry: E) => void) {}

  get size(): number {
    return this.entries.size;
  }

  fail(key: K, error: Error): void {
    this.settle(key)?.reject(error);
  }

  failAll(error: Error): void {
    for (const key of [...this.entries.keys()]) this.fail(key, error);
  }

  /** Removes the entry and releases what it holds; undefined when it was already settled. */
  protected settle(key: K): E | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.release(entry);
    return entry;
  }
}

interface AckWaiter {
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Group commands awaiting the owning instance's ack (ASP.NET Core's AckHandler), each with a timeout. */
export class AckWaiters extends PendingCalls<number, AckWaiter> {
  private lastId = 0;

  constructor() {
    super((waiter) => clearTimeout(waiter.timer));
  }

  /** A new ack id and the promise its ack settles; `timeoutError` is the rejection when none comes. */
  create(timeout: number, timeoutError: () => Error): { ackId: number; acked: Promise<void> } {
    // Int32 on the wire, as .NET reads it.
    this.lastId = this.lastId >= 0x7fffffff ? 1 : this.lastId + 1;
    const ackId = this.lastId;
    const acked = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(ackId)?.reject(timeoutError()), timeout);
      timer.unref();
      this.entries.set(ackId, { resolve, reject, timer });
    });
    return { ackId, acked };
  }

  ack(ackId: number): void {
    this.settle(ackId)?.resolve();
  }
}

interface RemoteCall {
  connectionId: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  cleanup(): void;
}

/**
 * Client-result calls this instance sent to connections on other instances, by invocation id. Ids
 * are ASP.NET Core's Redis ids: a random 128-bit value in base64 without its `==` (22 characters).
 */
export class RemoteResults extends PendingCalls<string, RemoteCall> {
  constructor() {
    super((call) => call.cleanup());
  }

  /** Registers a call before it is published (the answer may overtake the publish's reply). */
  create<T>(connectionId: string, signal: AbortSignal | undefined): { invocationId: string; result: Promise<T> } {
    const invocationId = randomBytes(16).toString('base64').slice(0, 22);
    const result = new Promise<T>((resolve, reject) => {
      const onCanceled = () => this.settle(invocationId)?.reject(new Error(ClientResultTexts.canceled));
      signal?.addEventListener('abort', onCanceled, { once: true });
      this.entries.set(invocationId, {
        connectionId,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onCanceled),
      });
    });
    return { invocationId, result };
  }

  /** The owning instance answered with the client's Completion. */
  complete(message: CompletionMessage): void {
    const call = this.settle(message.invocationId);
    if (call === undefined) return;
    if (message.error === undefined) call.resolve(message.result);
    else if (message.error === RedisTexts.remoteDisconnected) call.reject(clientResultIoError(ClientResultTexts.disconnected(call.connectionId)));
    else if (ClientResultCapTexts.isTooManyPending(message.error))
      call.reject(new Error(message.error)); // as a local refusal rejects
    else call.reject(new HubException(message.error));
  }

  /** Nobody received the invocation: no instance has that connection. */
  notFound(invocationId: string): void {
    const call = this.settle(invocationId);
    call?.reject(clientResultIoError(ClientResultTexts.doesNotExist(call.connectionId)));
  }
}
