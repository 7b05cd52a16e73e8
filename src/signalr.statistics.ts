import { Inject, Injectable, Optional, type Type } from '@nestjs/common';
import type { TransportName } from './connection/connection-transport.js';
import type { SignalRModuleOptions } from './interfaces/signalr-options.interface.js';
import type { BackplaneStatistics } from './lifetime/hub-backplane.js';
import { HealthTexts } from './signalr.messages.js';
import { SIGNALR_MODULE_OPTIONS } from './signalr.module-definition.js';
import { SignalRServer } from './signalr.server.js';
import { noConnections, type ServedHub, type ServedHubs } from './statistics/hub-counters.js';

/**
 * The numbers of one hub on this instance (`SignalRStatistics.hub()`).
 *
 * @example
 * const chat = statistics.hub(ChatHub);  // { hub: 'ChatHub', path: '/hubs/chat', connections: 2, connectionsByTransport: { WebSockets: 2, ... }, groups: 1 }
 */
export interface HubStatistics {
  /** The hub class's name. */
  readonly hub: string;
  /** The path it is served at (with the global prefix when `useGlobalPrefix` is on). */
  readonly path: string;
  /** Connections past their handshake and not yet ended, on this instance. */
  readonly connections: number;
  /** The same connections by transport (every transport is listed, 0 when it has none). */
  readonly connectionsByTransport: Readonly<Record<TransportName, number>>;
  /** Groups with at least one member connected to this instance (no lifetime manager counts groups cluster-wide, as in ASP.NET Core). */
  readonly groups: number;
}

/**
 * Everything `SignalRStatistics.snapshot()` reads at once, all of it held in memory (no I/O).
 *
 * @example
 * const { connections, hubs, backplane } = statistics.snapshot();
 */
export interface SignalRStatisticsSnapshot {
  /** Hub paths are routed and shutdown has not begun (new connections are accepted). */
  readonly serving: boolean;
  /** Connections of every hub on this instance. */
  readonly connections: number;
  /** The same connections by transport. */
  readonly connectionsByTransport: Readonly<Record<TransportName, number>>;
  /** Each hub served, in the order they were mapped. */
  readonly hubs: readonly HubStatistics[];
  /** The backplane's state; null without a backplane (or with one that does not report it). */
  readonly backplane: BackplaneStatistics | null;
}

/** What in-memory and Redis lifetime managers tell of their groups (a custom manager may tell nothing: 0). */
function groupCount(lifetime: object): number {
  const counted = lifetime as { groupCount?: number; stats?: { groups?: number } };
  return counted.groupCount ?? counted.stats?.groups ?? 0;
}

function statisticsOf(hub: ServedHub): HubStatistics {
  const { counters } = hub;
  return {
    hub: hub.name,
    path: hub.path,
    connections: counters.connections,
    connectionsByTransport: { ...counters.byTransport },
    groups: groupCount(hub.lifetime),
  };
}

/**
 * Live numbers of the SignalR server, for an app's own endpoints, dashboards and health checks
 * (`SignalRHealthIndicator` from `nestjs-signalr/terminus` reads them). Connections are counted as
 * they open and close, so every read is cheap whatever the load; only `usersOnline` asks the
 * backplane. Inject it anywhere once `SignalRModule` is imported.
 *
 * @example
 * @Controller('stats')
 * export class StatsController {
 *   constructor(private readonly statistics: SignalRStatistics) {}
 *
 *   @Get()
 *   async stats() {
 *     const { connections, hubs, backplane } = this.statistics.snapshot();
 *     return { connections, hubs, backplane, chatUsers: await this.statistics.usersOnline(ChatHub) };
 *   }
 * }
 */
@Injectable()
export class SignalRStatistics {
  /** @internal */
  constructor(
    @Inject(SignalRServer) private readonly server: ServedHubs,
    @Optional() @Inject(SIGNALR_MODULE_OPTIONS) private readonly options: SignalRModuleOptions | null = null,
  ) {}

  /** Every number held in memory, at once. */
  snapshot(): SignalRStatisticsSnapshot {
    const hubs = this.server.served.map(statisticsOf);
    const connectionsByTransport = noConnections();
    let connections = 0;
    for (const hub of hubs) {
      connections += hub.connections;
      for (const transport of Object.keys(connectionsByTransport) as TransportName[])
        connectionsByTransport[transport] += hub.connectionsByTransport[transport];
    }
    return { serving: this.server.serving, connections, connectionsByTransport, hubs, backplane: this.backplane() };
  }

  /** The numbers of one hub class on this instance; null when it is not served here. */
  hub(hub: Type<unknown>): HubStatistics | null {
    const served = this.server.served.find((candidate) => candidate.metatype === hub);
    return served === undefined ? null : statisticsOf(served);
  }

  /**
   * How many users (by user identifier) have at least one connection to `hub`: across every
   * instance with the Redis backplane (one Redis script, no listing), on this instance without one.
   * Rejects while the backplane is unreachable, or when `hub` is not served here.
   */
  usersOnline(hub: Type<unknown>): Promise<number> {
    const served = this.server.served.find((candidate) => candidate.metatype === hub);
    if (served === undefined) return Promise.reject(new Error(HealthTexts.hubNotServed(hub.name)));
    const presence = served.lifetime.presence;
    return presence.userCount !== undefined ? presence.userCount() : presence.onlineUsers().then((users) => users.size);
  }

  /** The backplane's state; null without a backplane (or with one that does not report it). */
  backplane(): BackplaneStatistics | null {
    return this.options?.backplane?.statistics?.() ?? null;
  }
}
