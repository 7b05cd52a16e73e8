import { installedVersion, officialRelease } from './official.js';
import type { ClientRelease } from './types.js';

/**
 * The legacy `@aspnet/signalr` 1.1 client (ASP.NET Core 2.x era) and `@aspnet/signalr-protocol-msgpack`,
 * installed under their own names: the msgpack package requires "@aspnet/signalr" by that name (a peer).
 * In Node it takes WebSocket from its `ws` 6 dependency, EventSource from `eventsource` 1 and HTTP
 * from `request` (its NodeHttpClient), all required by the package itself when `window` is undefined.
 */
export function aspnetReleases(): ClientRelease[] {
  return [
    officialRelease({
      label: `@aspnet/signalr ${installedVersion('@aspnet/signalr')}`,
      msgpackLabel: `@aspnet/signalr-protocol-msgpack ${installedVersion('@aspnet/signalr-protocol-msgpack')}`,
      client: () => require('@aspnet/signalr'),
      msgpack: () => require('@aspnet/signalr-protocol-msgpack'),
    }),
  ];
}
