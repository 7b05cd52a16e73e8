import type { HubTarget } from '../lifetime/hub-target.js';
import type { RedisChannels } from './redis-channels.js';

/** What one send publishes: one envelope to each channel. */
export interface Publication {
  channels: readonly string[];
  /** Connection ids the receivers leave out (all and group sends). */
  except: readonly string[] | undefined;
  /**
   * Whether Redis can bring the envelope back to this instance (it subscribes all, and the groups
   * and users it has members of): the envelope then names the instance, which skips its own echo.
   */
  mayEcho: boolean;
}

/**
 * The channels a send to `target` publishes to, as ASP.NET Core's RedisHubLifetimeManager: all,
 * each group, each user; a connection's channel only when the connection is not local (a local one
 * was written to directly). Null when nothing is published.
 */
export function publishedChannels(channels: RedisChannels, target: HubTarget, local: { get(connectionId: string): unknown }): Publication | null {
  switch (target.kind) {
    case 'all':
      return { channels: [channels.all], except: target.except, mayEcho: true };
    case 'group':
      return { channels: [channels.group(target.name)], except: target.except, mayEcho: true };
    case 'groups':
      return target.names.length === 0 ? null : { channels: target.names.map((name) => channels.group(name)), except: undefined, mayEcho: true };
    case 'user':
      return { channels: [channels.user(target.id)], except: undefined, mayEcho: true };
    case 'users':
      return target.ids.length === 0 ? null : { channels: target.ids.map((id) => channels.user(id)), except: undefined, mayEcho: true };
    case 'connection':
      return local.get(target.id) !== undefined ? null : { channels: [channels.connection(target.id)], except: undefined, mayEcho: false };
    case 'connections': {
      const remote: string[] = [];
      for (const id of target.ids) if (local.get(id) === undefined) remote.push(channels.connection(id));
      return remote.length === 0 ? null : { channels: remote, except: undefined, mayEcho: false };
    }
  }
}
