import { Logger } from '@nestjs/common';
import type { HubConnection } from '../connection/hub-connection.js';
import { HubException } from '../hub/hub-exception.js';
import { ClientCausedLogs } from '../logging/rate-limited-log.js';
import { CompletionMessage, MessageType } from '../protocol/hub-messages.js';

/** The server-side texts of client results, ASP.NET Core's byte for byte. */
export const ClientResultTexts = {
  doesNotExist: (connectionId: string) => `Connection '${connectionId}' does not exist.`,
  disconnected: (connectionId: string) => `Connection '${connectionId}' disconnected.`,
  canceled: 'Invocation canceled by the server.',
  notInOnConnected: 'Client results inside OnConnectedAsync Hub methods are not allowed.',
  wrongConnection: (connectionId: string, invocationId: string) =>
    `Connection ID '${connectionId}' is not valid for invocation ID '${invocationId}'.`,
};

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
  connection: HubConnection;
  /** The client answered. */
  complete(message: CompletionMessage): void;
  /** The connection closed or the caller canceled first. */
  fail(error: Error): void;
  /** Removes the disconnect and cancellation listeners. */
  cleanup(): void;
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

  /** Calls awaiting their Completion (for leak checks). */
  get pendingCount(): number {
    return this.pending.size;
  }

  invoke<T>(connection: HubConnection | undefined, connectionId: string, method: string, args: unknown[], signal?: AbortSignal): Promise<T> {
    if (connection === undefined || !connection.isOpen) return Promise.reject(ioException(ClientResultTexts.doesNotExist(connectionId)));
    if (signal?.aborted) return Promise.reject(new Error(ClientResultTexts.canceled));
    const invocationId = `s${++lastId}`;
    return new Promise<T>((resolve, reject) => {
      this.track(connection, invocationId, signal, {
        complete: (message) => (message.error !== undefined ? reject(new HubException(message.error)) : resolve(message.result as T)),
        fail: reject,
      });
      connection.write({ type: MessageType.Invocation, invocationId, target: method, arguments: args });
    });
  }

  /**
   * Waits for the Completion of an invocation another instance sent to this local connection (the
   * caller already wrote the invocation, with `invocationId`, to it).
   */
  forward(connection: HubConnection, invocationId: string, call: ForwardedCall): void {
    if (!connection.isOpen) {
      call.disconnected();
      return;
    }
    this.track(connection, invocationId, undefined, { complete: (message) => call.completed(message), fail: () => call.disconnected() });
  }

  private track(connection: HubConnection, invocationId: string, signal: AbortSignal | undefined, outcome: Pick<Pending, 'complete' | 'fail'>): void {
    const closed = connection.abortSignal;
    const connectionId = connection.connectionId;
    const onClosed = () => this.settle(invocationId)?.fail(ioException(ClientResultTexts.disconnected(connectionId)));
    const onCanceled = () => this.settle(invocationId)?.fail(new Error(ClientResultTexts.canceled));
    closed.addEventListener('abort', onClosed, { once: true });
    signal?.addEventListener('abort', onCanceled, { once: true });
    this.pending.set(invocationId, {
      connection,
      ...outcome,
      cleanup: () => {
        closed.removeEventListener('abort', onClosed);
        signal?.removeEventListener('abort', onCanceled);
      },
    });
  }

  /**
   * Settles the call a Completion answers; false when it answers none (a late answer to a canceled
   * call, or the end of a client-to-server stream), so the message takes its usual path.
   */
  tryComplete(connection: HubConnection, message: CompletionMessage): boolean {
    const entry = this.pending.get(message.invocationId);
    if (entry === undefined) return false;
    if (entry.connection !== connection) {
      // .NET aborts the offending connection; here its answer is dropped and the call keeps waiting.
      if (ClientCausedLogs.wrongConnectionResult.allow()) this.logger.warn(ClientResultTexts.wrongConnection(connection.connectionId, message.invocationId));
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
    return entry;
  }
}
