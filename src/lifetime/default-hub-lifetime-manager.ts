import type { CompletionMessage } from '../protocol/hub-messages.js';
import { ClientResults } from './client-results.js';
import type { LocalConnection } from './hub-connection-context.js';
import { HubLifetimeManager } from './hub-lifetime-manager.js';
import { type HubPresence, PresenceListeners, presenceSubscription } from './hub-presence.js';
import { type HubTarget, refuseGroupName, refuseTarget } from './hub-target.js';
import { LocalConnectionIndex } from './local-connection-index.js';
import { invocation, sendOutcome } from './serialized-hub-message.js';

const DONE = Promise.resolve();

/**
 * The in-memory lifetime manager (ASP.NET Core's DefaultHubLifetimeManager): the local index and
 * its writes. Sends are synchronous writes into each connection's tick buffer; the returned
 * promise is a shared resolved one unless a protocol could not write the arguments.
 */
export class DefaultHubLifetimeManager extends HubLifetimeManager {
  private readonly index = new LocalConnectionIndex();
  private readonly results = new ClientResults();
  private readonly presenceListeners = new PresenceListeners();
  private presenceView: HubPresence | null = null;

  get connectionCount(): number {
    return this.index.connectionCount;
  }

  get groupCount(): number {
    return this.index.groupCount;
  }

  /** Client-result calls still awaiting their Completion (for leak checks). */
  get pendingClientResults(): number {
    return this.results.pendingCount;
  }

  onConnected(connection: LocalConnection): void {
    if (this.index.add(connection)) this.presenceListeners.emit('joined', connection.userIdentifier!);
  }

  onDisconnected(connection: LocalConnection): void {
    if (this.index.remove(connection)) this.presenceListeners.emit('left', connection.userIdentifier!);
  }

  send(target: HubTarget, method: string, args: unknown[]): Promise<void> {
    const refusal = refuseTarget(target);
    if (refusal !== null) return refusal;
    const message = invocation(method, args);
    this.index.write(target, message);
    return sendOutcome(message);
  }

  /** Presence in this process: the user index itself, so it costs nothing extra per connection. */
  override get presence(): HubPresence {
    return (this.presenceView ??= {
      onlineUsers: () => Promise.resolve(this.index.onlineUsers()),
      userCount: () => Promise.resolve(this.index.userCount),
      connectionCount: (userId) => Promise.resolve(this.index.userConnectionCount(userId)),
      subscribe: (listener) => presenceSubscription(this.presenceListeners.add(listener)),
    });
  }

  override invokeConnection<T = unknown>(connectionId: string, method: string, args: unknown[], signal?: AbortSignal): Promise<T> {
    return this.results.invoke<T>(this.index.get(connectionId), connectionId, method, args, signal);
  }

  override tryCompleteClientResult(connection: LocalConnection, message: CompletionMessage): boolean {
    return this.results.tryComplete(connection, message);
  }

  /** Idempotent; a connection that is unknown or gone is ignored, as in ASP.NET Core. */
  addToGroup(connectionId: string, groupName: string): Promise<void> {
    const refusal = refuseGroupName(groupName);
    if (refusal !== null) return refusal;
    const connection = this.index.get(connectionId);
    if (connection !== undefined) this.index.addToGroup(connection, groupName);
    return DONE;
  }

  removeFromGroup(connectionId: string, groupName: string): Promise<void> {
    const refusal = refuseGroupName(groupName);
    if (refusal !== null) return refusal;
    const connection = this.index.get(connectionId);
    if (connection !== undefined) this.index.removeFromGroup(connection, groupName);
    return DONE;
  }
}
