import { Logger } from '@nestjs/common';
import { type CloseMessage, type HubMessage, MessageType } from '../protocol/hub-messages.js';
import { connectionFields, describeError, logEvent, stackOf } from '../logging/log-event.js';
import { ClientCausedLogs } from '../logging/rate-limited-log.js';
import { CLOSE_PLAIN, closeWithError } from './close-messages.js';
import type { ConnectionDispatcher, ConnectionLifetime } from './connection-contracts.js';
import type { HubConnection } from './hub-connection.js';
import type { InvocationSlot } from './invocation-slot.js';
import { sendBacklogged } from './send-backpressure.js';
import { acceptStateful } from './stateful-reconnect.js';

/** Who ends a connection when one of its messages says so (the connection loop). */
export interface ConnectionCloser {
  close(connection: HubConnection, message: CloseMessage | null, error: Error | undefined): void;
}

/**
 * The read-and-dispatch stage of the connection loop: messages a connection read queue in order and
 * go to the hub layer one at a time; an invocation waits for one of the connection's invocation
 * slots and for its client to read what was sent, and any other message the hub layer is still
 * handling (a StreamItem into a full upload buffer) holds the messages behind it.
 */
export class MessagePump {
  private readonly logger = new Logger('SignalR');
  /** Connections whose dispatch waits for the hub layer (a full upload buffer), whatever the message. */
  private readonly held = new Set<HubConnection>();
  /** A stateful connection whose client broke the protocol (a Sequence beyond what it sent). */
  private readonly failStateful = (connection: HubConnection, error: Error) =>
    this.closer.close(connection, closeWithError(error, connection.options.enableDetailedErrors, true), error);

  constructor(
    private readonly dispatcher: ConnectionDispatcher,
    private readonly lifetime: ConnectionLifetime,
    private readonly closer: ConnectionCloser,
    /** For log lines. */
    private readonly hubName: string,
  ) {}

  /** A message read from the connection: queued for dispatch, unless it is settled on receipt. */
  enqueue(connection: HubConnection, message: HubMessage): void {
    // A client result's Completion may answer the very hub method that holds this connection's last
    // invocation slot, so it must not queue behind invocations waiting for that slot; it settles on
    // receipt (in receipt order among Completions). Other Completions (ends of client streams) keep
    // their place behind the stream items they follow. Pings (once connected) only arm the client timeout.
    if (message.type === MessageType.Ping && connection.state === 'connected') {
      connection.clientTimeoutArmed = true;
      return;
    }
    if (connection.replay !== null && !acceptStateful(connection, connection.replay, message, this.failStateful)) return;
    if (message.type === MessageType.Completion && this.lifetime.tryCompleteClientResult?.(connection, message)) return;
    connection.queueInbound(message);
  }

  /** Dispatches queued messages in order; an invocation waits while all invocation slots are taken. */
  pump(connection: HubConnection): void {
    const queue = connection.inbound;
    if (queue === null) return;
    const slots = connection.options.maximumParallelInvocationsPerClient;
    while (queue.length > 0 && connection.state === 'connected') {
      if (this.held.size !== 0 && this.held.has(connection)) break;
      const message = queue[0];
      const isInvocation = message.type === MessageType.Invocation || message.type === MessageType.StreamInvocation;
      if (isInvocation && (connection.activeInvocations >= slots || sendBacklogged(connection))) break;
      queue.shift();
      this.handle(connection, message);
    }
    connection.inboundTaken(queue.length);
  }

  /** The slot goes back once: at the invocation's end, or earlier while it awaits a client result. */
  releaseInvocationSlot(connection: HubConnection, slot: InvocationSlot): void {
    if (slot.released) return;
    slot.released = true;
    connection.activeInvocations--;
    // Not from inside the dispatch that is running: the next invocation starts on the next turn.
    if (connection.inbound !== null && connection.inbound.length > 0) queueMicrotask(() => this.pump(connection));
  }

  /** The connection ended: nothing of it is held any longer. */
  forget(connection: HubConnection): void {
    this.held.delete(connection);
  }

  private handle(connection: HubConnection, message: HubMessage): void {
    switch (message.type) {
      case MessageType.Ping:
        connection.clientTimeoutArmed = true;
        return;
      case MessageType.Close:
        this.closer.close(connection, CLOSE_PLAIN, message.error ? new Error(message.error) : undefined);
        return;
      case MessageType.Ack:
      case MessageType.Sequence:
        return; // only meaningful with stateful reconnect, which this connection did not negotiate
      default: {
        const isInvocation = message.type === MessageType.Invocation || message.type === MessageType.StreamInvocation;
        // An invocation holds a slot from dispatch on; a client-result call may give it back early.
        const slot: InvocationSlot | undefined = isInvocation ? { released: false } : undefined;
        if (slot !== undefined) connection.activeInvocations++;
        let pending: void | Promise<void>;
        try {
          pending = this.dispatcher.dispatch(connection, message, slot);
        } catch (error) {
          this.dispatchFailed(connection, error);
          pending = undefined;
        }
        if (pending === undefined) {
          if (slot !== undefined) this.releaseInvocationSlot(connection, slot);
          return;
        }
        if (slot === undefined) this.held.add(connection);
        pending
          .catch((error) => this.dispatchFailed(connection, error))
          .finally(() => {
            if (slot === undefined) this.held.delete(connection);
            else if (!slot.released) {
              slot.released = true;
              connection.activeInvocations--;
            }
            this.pump(connection);
          });
      }
    }
  }

  /** A failure of the dispatcher itself (hub code's errors are Completions already), rate limited as the client may cause it. */
  private dispatchFailed(connection: HubConnection, error: unknown): void {
    if (!ClientCausedLogs.dispatchFailed.allow()) return;
    this.logger.error(
      logEvent('FailedDispatchingMessage', `Unexpected error dispatching a message on ${connection.path}.`, {
        hub: this.hubName,
        ...connectionFields(connection),
        error: describeError(error),
      }),
      stackOf(error),
    );
  }
}
