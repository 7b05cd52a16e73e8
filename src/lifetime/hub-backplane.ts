import type { Type } from '@nestjs/common';
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
}
