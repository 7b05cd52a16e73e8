import type { CompletionMessage } from '../protocol/hub-messages.js';
import type { HubConnectionContext } from './hub-connection-context.js';
import { type HubPresence, presenceSubscription } from './hub-presence.js';
import type { HubTarget } from './hub-target.js';

const unsupportedPresence = (name: string): HubPresence => {
  const refuse = () => Promise.reject(new Error(`${name} does not track presence.`));
  return { onlineUsers: refuse, connectionCount: refuse, subscribe: () => presenceSubscription(() => undefined) };
};

/**
 * Fan-out for one hub: which connections a send reaches, and group membership (ASP.NET Core's
 * `HubLifetimeManager`). The in-memory default serves one process; a backplane's manager spreads
 * the same calls across instances. Each send serializes once per protocol (`SerializedHubMessage`).
 *
 * @example
 * class MyLifetimeManager extends HubLifetimeManager {
 *   onConnected(connection: HubConnectionContext) {}
 *   onDisconnected(connection: HubConnectionContext) {}
 *   send(target: HubTarget, method: string, args: unknown[]) { return Promise.resolve(); }
 *   addToGroup(connectionId: string, groupName: string) { return Promise.resolve(); }
 *   removeFromGroup(connectionId: string, groupName: string) { return Promise.resolve(); }
 * }
 */
export abstract class HubLifetimeManager {
  abstract onConnected(connection: HubConnectionContext): void;
  abstract onDisconnected(connection: HubConnectionContext): void;

  /**
   * Invokes client method `method` with `args` on every connection `target` reaches (ASP.NET Core's
   * `SendAllAsync` ... `SendUsersAsync`); resolves once it is queued for each, and rejects a target
   * naming an empty group or arguments a protocol cannot write.
   */
  abstract send(target: HubTarget, method: string, args: unknown[]): Promise<void>;

  /**
   * Invokes `method` on one connection and resolves with the client's result (ASP.NET Core's
   * InvokeConnectionAsync); `signal` cancels the wait. Like .NET's virtual, a manager that does not
   * support client results rejects.
   */
  invokeConnection<T = unknown>(_connectionId: string, _method: string, _args: unknown[], _signal?: AbortSignal): Promise<T> {
    return Promise.reject(new Error(`${this.constructor.name} does not support client results.`));
  }

  /** Settles the client-result call a Completion answers; false when it answers none of this manager's calls. */
  tryCompleteClientResult(_connection: HubConnectionContext, _message: CompletionMessage): boolean {
    return false;
  }

  abstract addToGroup(connectionId: string, groupName: string): Promise<void>;
  abstract removeFromGroup(connectionId: string, groupName: string): Promise<void>;

  /** Who is connected, by user (see `HubPresence`); a manager that does not track it rejects. */
  get presence(): HubPresence {
    return unsupportedPresence(this.constructor.name);
  }

  /**
   * Settles once a new connection can be reached by sends from anywhere (a backplane subscribes its
   * channels first); undefined when that is immediate. The hub's onConnected runs after it.
   */
  whenReachable(_connection: HubConnectionContext): Promise<void> | undefined {
    return undefined;
  }

  /** Releases what the manager holds outside the process (on app shutdown, after its connections closed). */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
