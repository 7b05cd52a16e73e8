import { Logger } from '@nestjs/common';
import type { LocalConnection } from './hub-connection-context.js';
import { HubException } from '../hub/hub-exception.js';
import { connectionFields, logEvent } from '../logging/log-event.js';
import { ClientCausedLogs } from '../logging/rate-limited-log.js';
import { CompletionMessage, MessageType } from '../protocol/hub-messages.js';
import { ClientResultCapTexts, LogTexts } from '../signalr.messages.js';

/** The server-side texts of client results, ASP.NET Core's byte for byte. */
export const ClientResultTexts = {
  doesNotExist: (connectionId: string) => `Connection '${connectionId}' does not exist.`,
  disconnected: (connectionId: string) => `Connection '${connectionId}' disconnected.`,
  canceled: 'Invocation canceled by the server.',
  notInOnConnected: 'Client results inside OnConnectedAsync Hub methods are not allowed.',
  wrongConnection: (connectionId: string, invocationId: string) => `Connection ID '${connectionId}' is not valid for invocation ID '${invocationId}'.`,
};

const noCleanup = () => undefined;

/** .NET's IOException: the connection is unknown or went away. */
function ioException(message: string): Error {
  const error = new Error(message);
  error.name = 'IOException';
  return error;
}

/**
 * The signal of a client-result call: its last argument when that is an `AbortSignal` (it is not
 * sent to the client). `AbortSignal.timeout(ms)` gives a timeout.
 */
export function splitSignal(args: unknown[]): { args: unknown[]; signal: AbortSignal | undefined } {
  const last = args[args.length - 1];
  return last instanceof AbortSignal ? { args: args.slice(0, -1), signal: last } : { args, signal: undefined };
}

interface Pending {
  connection: LocalConnection;
  /** The client answered. */
  complete(message: CompletionMessage): void;
  /** The connection closed or the caller canceled first. */
  fail(error: Error): void;
  /** Removes the caller's cancellation listener. */
  cleanup(): void;
}

/**
 * The pending calls of one connection, with the one listener on its abort signal that fails them
 * all: a listener per call would pile up on the signal (Node warns beyond ten).
 */
interface ConnectionCalls {
  readonly ids: Set<string>;
  readonly onClosed: () => void;
}

/** How a forwarded call (one a backplane relays for another instance) ends. */
export interface ForwardedCall {
  /** The client's Completion, as it arrived. */
  completed(message: CompletionMessage): void;
  /** The connection closed before the client answered. */
  disconnected(): void;
}

/** .NET's IOException: the connection is unknown or went away. */
export function clientResultIoError(message: string): Error {
  return ioException(message);
}

/**
 * Ids of server-to-client invocations, unique per process. The `s` prefix keeps them apart from the
 * client's own stream ids (plain numbers), as in ASP.NET Core's in-memory manager.
 */
let lastId = 0;

/**
 * Pending client results of one lifetime manager (ASP.NET Core's ClientResultsManager): sends an
 * Invocation with an id to one connection and settles its promise with the Completion that comes
 * back, or on disconnect or cancellation. Every outcome removes the entry and its listeners.
 */
export class ClientResults {
  private readonly logger = new Logger('SignalR:ClientResults');
  private readonly pending = new Map<string, Pending>();
  /** Per connection with pending calls: their ids; gone with its last call. */
  private readonly byConnection = new Map<LocalConnection, ConnectionCalls>();

  /** Calls awaiting their Completion (for leak checks). */
  get pendingCount(): number {
    return this.pending.size;
  }

  invoke<T>(connection: LocalConnection | undefined, connectionId: string, method: string, args: unknown[], signal?: AbortSignal): Promise<T> {
    if (connection === undefined || !connection.isOpen) return Promise.reject(ioException(ClientResultTexts.doesNotExist(connectionId)));
    if (signal?.aborted) return Promise.reject(new Error(ClientResultTexts.canceled));
    const refusal = this.overCap(connection);
    if (refusal !== null) return Promise.reject(new Error(refusal));
    const invocationId = `s${++lastId}`;
    return new Promise<T>((resolve, reject) => {
      this.track(connection, invocationId, signal, {
        complete: (message) => (message.error !== undefined ? reject(new HubException(message.error)) : resolve(message.result as T)),
        fail: reject,
      });
      try {
        connection.write({ type: MessageType.Invocation, invocationId, target: method, arguments: args });
      } catch (error) {
        // The protocol could not write the arguments (nothing was queued): the call fails with the encoder's error.
        this.logger.warn(
          logEvent('ArgumentsNotSerialized', LogTexts.argumentsNotSerialized(method, connection.protocol?.name ?? '', error), {
            method,
            ...connectionFields(connection),
          }),
        );
        this.settle(invocationId);
        reject(error);
      }
    });
  }

  /**
   * Waits for the Completion of an invocation another instance sends to this local connection, and
   * says whether the caller may write it (with `invocationId`) to the connection. False when the
   * connection closed (`disconnected` was called) or already has its maximum of pending calls (the
   * refusal went to `completed` as an error Completion).
   */
  forward(connection: LocalConnection, invocationId: string, call: ForwardedCall): boolean {
    if (!connection.isOpen) {
      call.disconnected();
      return false;
    }
    const refusal = this.overCap(connection);
    if (refusal !== null) {
      call.completed({ type: MessageType.Completion, invocationId, error: refusal });
      return false;
    }
    this.track(connection, invocationId, undefined, { complete: (message) => call.completed(message), fail: () => call.disconnected() });
    return true;
  }

  /** The refusal text when the connection already has maximumPendingClientResultsPerClient calls pending, else null. */
  private overCap(connection: LocalConnection): string | null {
    const limit = connection.options.maximumPendingClientResultsPerClient;
    const count = this.byConnection.get(connection)?.ids.size ?? 0;
    return count < limit ? null : ClientResultCapTexts.tooManyPending(connection.connectionId, limit);
  }

  private track(connection: LocalConnection, invocationId: string, signal: AbortSignal | undefined, outcome: Pick<Pending, 'complete' | 'fail'>): void {
    let calls = this.byConnection.get(connection);
    if (calls === undefined) {
      const onClosed = () => this.connectionClosed(connection);
      calls = { ids: new Set(), onClosed };
      connection.abortSignal.addEventListener('abort', onClosed, { once: true });
      this.byConnection.set(connection, calls);
    }
    calls.ids.add(invocationId);
    const onCanceled = signal === undefined ? undefined : () => this.settle(invocationId)?.fail(new Error(ClientResultTexts.canceled));
    if (onCanceled !== undefined) signal!.addEventListener('abort', onCanceled, { once: true });
    this.pending.set(invocationId, {
      connection,
      ...outcome,
      cleanup: onCanceled === undefined ? noCleanup : () => signal!.removeEventListener('abort', onCanceled),
    });
  }

  /** The connection closed: each of its calls fails, in the order they were made. */
  private connectionClosed(connection: LocalConnection): void {
    const calls = this.byConnection.get(connection);
    if (calls === undefined) return;
    this.byConnection.delete(connection);
    for (const invocationId of calls.ids) {
      const entry = this.pending.get(invocationId);
      if (entry === undefined) continue;
      this.pending.delete(invocationId);
      entry.cleanup();
      entry.fail(ioException(ClientResultTexts.disconnected(connection.connectionId)));
    }
  }

  /**
   * Settles the call a Completion answers; false when it answers none (a late answer to a canceled
   * call, or the end of a client-to-server stream), so the message takes its usual path.
   */
  tryComplete(connection: LocalConnection, message: CompletionMessage): boolean {
    const entry = this.pending.get(message.invocationId);
    if (entry === undefined) return false;
    if (entry.connection !== connection) {
      // .NET aborts the offending connection; here its answer is dropped and the call keeps waiting.
      if (ClientCausedLogs.wrongConnectionResult.allow())
        this.logger.warn(
          logEvent('WrongConnectionResult', ClientResultTexts.wrongConnection(connection.connectionId, message.invocationId), connectionFields(connection)),
        );
      return true;
    }
    this.settle(message.invocationId);
    entry.complete(message);
    return true;
  }

  /** Forgets a pending call and its listeners; undefined when it was already settled. */
  private settle(invocationId: string): Pending | undefined {
    const entry = this.pending.get(invocationId);
    if (entry === undefined) return undefined;
    this.pending.delete(invocationId);
    entry.cleanup();
    const calls = this.byConnection.get(entry.connection);
    if (calls !== undefined && calls.ids.delete(invocationId) && calls.ids.size === 0) {
      this.byConnection.delete(entry.connection);
      entry.connection.abortSignal.removeEventListener('abort', calls.onClosed);
    }
    return entry;
  }
}
