import type { CompletionMessage, HubMessage } from '../protocol/hub-messages.js';
import type { HubConnection } from './hub-connection.js';
import type { InvocationSlot } from './invocation-slot.js';

export type { InvocationSlot } from './invocation-slot.js';

/** What the connection loop asks of the hub layer. */
export interface ConnectionDispatcher {
  onConnected(connection: HubConnection): void | Promise<void>;
  onDisconnected(connection: HubConnection, error: Error | undefined): void | Promise<void>;
  /**
   * Handles a hub message; returns a promise while an invocation is still running (it holds `slot`
   * unless released), or, for any other message (a StreamItem into a full upload buffer), while the
   * connection's dispatch must wait. `slot` is given for invocations only.
   */
  dispatch(connection: HubConnection, message: HubMessage, slot?: InvocationSlot): void | Promise<void>;
}

/** What the connection loop tells the fan-out layer. */
export interface ConnectionLifetime {
  onConnected(connection: HubConnection): void;
  onDisconnected(connection: HubConnection): void;
  /** Settles the client-result call a Completion answers; false when it answers none. */
  tryCompleteClientResult?(connection: HubConnection, message: CompletionMessage): boolean;
}
