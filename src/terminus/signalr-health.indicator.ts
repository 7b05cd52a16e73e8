import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { BackplaneStatistics } from '../lifetime/hub-backplane.js';
import { HealthTexts } from '../signalr.messages.js';
import { SignalRStatistics } from '../signalr.statistics.js';

function isoOrNull(time: number | null): string | null {
  return time === null ? null : new Date(time).toISOString();
}

/** Why the server is unhealthy, or null: the first failed check, in the order they matter. */
function downReason(serving: boolean, backplane: BackplaneStatistics | null): string | null {
  if (!serving) return HealthTexts.notServing;
  if (backplane === null) return null;
  if (!backplane.connected) return HealthTexts.backplaneDown(backplane.disconnectedSince);
  if (backplane.presenceStale) return HealthTexts.presenceStale(backplane.lastPresenceHeartbeatAt, backplane.presenceHeartbeatInterval);
  return null;
}

/**
 * A `@nestjs/terminus` health indicator for the SignalR server: up while hubs are served and, with
 * a backplane, while it is connected and this instance's presence heartbeat is fresh; down with the
 * reason in `message` otherwise (Redis unreachable, presence not renewed for three heartbeats, app
 * shutting down). Its details carry the connection counts by hub and transport and the backplane's
 * state. List it as a provider of a module that imports `TerminusModule`.
 *
 * @example
 * import { TerminusModule, HealthCheck, HealthCheckService } from '@nestjs/terminus';
 * import { SignalRHealthIndicator } from 'nestjs-signalr/terminus';
 *
 * @Controller('health')
 * export class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly signalr: SignalRHealthIndicator) {}
 *
 *   @Get()
 *   @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.signalr.isHealthy('signalr')]);
 *   }
 * }
 *
 * @Module({ imports: [TerminusModule], controllers: [HealthController], providers: [SignalRHealthIndicator] })
 * export class HealthModule {}
 */
@Injectable()
export class SignalRHealthIndicator {
  /** @internal */
  constructor(
    private readonly statistics: SignalRStatistics,
    private readonly indicators: HealthIndicatorService,
  ) {}

  /** The server's health under `key` (default `signalr`); never throws, terminus turns `down` into a 503. */
  isHealthy<const Key extends string = 'signalr'>(key: Key = 'signalr' as Key): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    const snapshot = this.statistics.snapshot();
    const { backplane } = snapshot;
    const details = {
      connections: snapshot.connections,
      connectionsByTransport: snapshot.connectionsByTransport,
      hubs: Object.fromEntries(snapshot.hubs.map((hub) => [hub.hub, hub.connections])),
      ...(backplane === null
        ? {}
        : {
            backplane: {
              connected: backplane.connected,
              disconnectedSince: isoOrNull(backplane.disconnectedSince),
              outages: backplane.outages,
              droppedSends: backplane.droppedSends,
              lastPresenceHeartbeatAt: isoOrNull(backplane.lastPresenceHeartbeatAt),
            },
          }),
    };
    const reason = downReason(snapshot.serving, backplane);
    return reason === null ? session.up(details) : session.down({ message: reason, ...details });
  }
}
