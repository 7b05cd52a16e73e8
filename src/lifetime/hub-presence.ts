/**
 * A user's presence changed somewhere in the cluster (or, without a backplane, in this process).
 *
 * @example
 * context.presence.subscribe((event: PresenceEvent) => event.type === 'left' && rooms.release(event.userId));
 */
export interface PresenceEvent {
  /** `joined`: the user's first connection to the hub opened; `left`: its last one closed (or expired with a dead instance). */
  type: 'joined' | 'left';
  userId: string;
}

/**
 * Who is connected to a hub, by user identifier: across every instance with the Redis backplane,
 * in this process without one. Connections without a user identifier are not counted. Reach it
 * through `HubContext.presence`.
 *
 * @example
 * const online = await this.chat.presence.onlineUsers();      // Map { 'ada' => 2, 'bob' => 1 }
 * const stop = this.chat.presence.subscribe(({ type, userId }) => console.log(userId, type));
 */
export interface HubPresence {
  /** Users with at least one connection to the hub, with their connection counts. */
  onlineUsers(): Promise<Map<string, number>>;
  /**
   * How many users have at least one connection to the hub, without listing them. Optional for
   * presence of other lifetime managers; `SignalRStatistics` falls back to `onlineUsers()`.
   */
  userCount?(): Promise<number>;
  /** How many connections `userId` has to the hub (0 when offline). */
  connectionCount(userId: string): Promise<number>;
  /**
   * Calls `listener` on every joined/left transition; returns a function that stops it, whose
   * `ready` settles once events from every instance are heard (a backplane subscribes first).
   */
  subscribe(listener: (event: PresenceEvent) => void): PresenceSubscription;
}

/**
 * Stops a presence listener when called; `ready` settles once it hears the whole cluster.
 *
 * @example
 * const stop = context.presence.subscribe(onPresence);
 * await stop.ready;  // from here on, no instance's event is missed
 * stop();
 */
export type PresenceSubscription = (() => void) & { readonly ready: Promise<void> };

/** A subscription from its stop function and readiness. */
export function presenceSubscription(stop: () => void, ready: Promise<void> = Promise.resolve()): PresenceSubscription {
  return Object.assign(stop, { ready });
}

/** Listeners of presence events; a throwing listener never reaches the emitter. */
export class PresenceListeners {
  private readonly listeners = new Set<(event: PresenceEvent) => void>();

  get size(): number {
    return this.listeners.size;
  }

  add(listener: (event: PresenceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(type: PresenceEvent['type'], userId: string): void {
    if (this.listeners.size === 0) return;
    const event: PresenceEvent = { type, userId };
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the connection that caused the event goes on.
      }
    }
  }
}
