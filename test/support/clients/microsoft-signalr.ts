import { installedVersion, officialRelease } from './official.js';
import type { ClientRelease } from './types.js';

/**
 * `@microsoft/signalr` releases installed side by side: 11.x under its own name, older majors
 * through npm aliases (`signalr-8` = `npm:@microsoft/signalr@^8`), each with the MessagePack
 * package of the same major (package.json `overrides` nest the matching client under it, so
 * `signalr-msgpack-8` loads @microsoft/signalr 8 and not the top-level 11). Microsoft published
 * no `@microsoft/signalr-protocol-msgpack` 11: 11.x runs with the newest, 10.0.11, whose
 * dependency `@microsoft/signalr >=10.0.11` resolves to the top-level 11, as in an app that
 * installs the latest of both.
 *
 * Node 20 needs nothing extra for them: WebSocket comes from their `ws` dependency and EventSource
 * from `eventsource` (HttpConnection requires both when `window` is undefined); HTTP is Node's
 * global fetch wrapped by fetch-cookie (6.x+; node-fetch only when fetch is missing) or the
 * `request` package (3.1).
 */
/** The @microsoft/signalr a MessagePack package really loads, e.g. "8.0.29" (the overrides' doing). */
function clientUnder(msgpack: string): string {
  const manifest = require.resolve('@microsoft/signalr/package.json', { paths: [require.resolve(msgpack)] });
  return (require(manifest) as { version: string }).version;
}

export function microsoftReleases(): ClientRelease[] {
  return [
    { alias: '@microsoft/signalr', msgpack: '@microsoft/signalr-protocol-msgpack' },
    { alias: 'signalr-10', msgpack: 'signalr-msgpack-10' },
    { alias: 'signalr-8', msgpack: 'signalr-msgpack-8' },
    { alias: 'signalr-6', msgpack: 'signalr-msgpack-6' },
    { alias: 'signalr-3', msgpack: 'signalr-msgpack-3' },
  ].map(({ alias, msgpack }) =>
    officialRelease({
      label: `@microsoft/signalr ${installedVersion(alias)}`,
      msgpackLabel: `@microsoft/signalr-protocol-msgpack ${installedVersion(msgpack)} on ${clientUnder(msgpack)}`,
      client: () => require(alias),
      msgpack: () => require(msgpack),
    }),
  );
}
