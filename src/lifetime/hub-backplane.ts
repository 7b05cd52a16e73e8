import type { Type } from '@nestjs/common';
import type { ConnectionBridge } from '../interfaces/connection-bridge.interface.js';
import type { ConnectionStartClaims } from '../interfaces/connection-start-claims.interface.js';
import type { ConnectionRelay } from '../interfaces/connection-relay.interface.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import type { HubLifetimeManager } from './hub-lifetime-manager.js';

/**
 * Spreads hubs across instances: makes the lifetime manager of each hub and owns the connections
 * they share. `redisBackplane()` builds one; without a backplane each hub is served in memory.
 *
 * @example
 * const backplane: HubBackplane = redisBackplane({ url: 'redis://127.0.0.1:6379' });
 * SignalRModule.forRoot({ backplane });
 */
export interface HubBackplane {
  /**
   * The lifetime manager of one hub class. `protocols` are the hub protocol instances the server
   * writes with (by name), so bytes prepared for a send are reused for local recipients.
   */
  createLifetimeManager(hub: Type<unknown>, protocols: ReadonlyMap<string, HubProtocol>): HubLifetimeManager;
  /** Releases what the backplane opened (on app shutdown, after every connection was closed). */
  close(): Promise<void>;
  /**
   * Carries the requests of SSE and long-polling connections to the instance that holds them, so
   * that instances need no session affinity (issue 18; used with `connectionTokenSecret`). Optional:
   * without it such requests are answered only where the connection is.
   */
  connectionRelay?(): ConnectionRelay;
  /** The state of its link to the broker, for `SignalRStatistics` and the health indicator (optional for other backplanes). */
  statistics?(): BackplaneStatistics;
  /**
   * Once per cluster for connections started by a signed token (`connectionTokenSecret`): asked
   * only when the module has a secret. A backplane without it leaves each instance to start a token
   * at most once itself.
   */
  startClaims?(): ConnectionStartClaims;
  /**
   * Stateful reconnect across instances for connections started by a signed token: a re-attach
   * whose socket lands on another instance than the connection's is bridged to it. Asked only when
   * the module has a `connectionTokenSecret`; without it such a re-attach gets 404 and the client
   * starts a new connection.
   */
  connectionBridge?(): ConnectionBridge;
  /**
   * Calls `listener` once, when this instance first sees another instance on the backplane (at once
   * if it already has): the module then warns when it has no `connectionTokenSecret`.
   */
  onOtherInstance?(listener: () => void): void;
}

/**
 * The state of the backplane as this instance sees it (`SignalRStatistics.backplane()`).
 *
 * @example
 * const backplane = statistics.backplane();
 * if (backplane !== null && !backplane.connected) console.warn(`Redis down since ${new Date(backplane.disconnectedSince!).toISOString()}`);
 */
export interface BackplaneStatistics {
  /** Both connections to the broker are up and subscribed: sends cross to other instances. */
  readonly connected: boolean;
  /** Since when (ms since the epoch) it has not been connected; null while connected. */
  readonly disconnectedSince: number | null;
  /** Outages since the app started (each was logged once, as `ConnectionFailed`). */
  readonly outages: number;
  /** Sends that reached this instance's connections only, the broker being unreachable. */
  readonly droppedSends: number;
  /** Connections a signed token started without the cluster's claim, the broker being unreachable (see `startClaims`). */
  readonly unclaimedStarts?: number;
  /** Sockets of stateful connections held by other instances, bridged from this one (see `connectionBridge`). */
  readonly bridgedSockets?: number;
  /** Bytes their owners sent that this instance has yet to write to those sockets: at most a window (256 KiB) each. */
  readonly bridgedBytes?: number;
  /** How often each hub renews this instance's presence entries (ms). */
  readonly presenceHeartbeatInterval: number;
  /** The stalest hub's last accepted presence heartbeat (ms since the epoch); null until every hub had one. */
  readonly lastPresenceHeartbeatAt: number | null;
  /**
   * True when a hub's presence went three intervals without an accepted heartbeat: other instances
   * may have dropped this instance's users from `onlineUsers()` meanwhile.
   */
  readonly presenceStale: boolean;
}
