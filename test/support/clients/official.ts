import { ClientRelease, MatrixClient, MatrixConnection, MatrixProtocol, MatrixTransport, TRANSPORT_FLAGS } from './types.js';

/** The exports of an official client package the matrix needs (`@aspnet/signalr` 1.x and `@microsoft/signalr` 3.x–11.x alike). */
export interface OfficialClientModule {
  HubConnectionBuilder: new () => {
    withUrl(url: string, options: { transport: number }): any;
  };
}

/** The exports of an official MessagePack protocol package. */
export interface OfficialMsgPackModule {
  MessagePackHubProtocol: new () => unknown;
}

const LEVELS = ['Trace', 'Debug', 'Information', 'Warning', 'Error', 'Critical', 'None'];
const WARNING = 3;

/** Reads the exact installed version of a package (by its alias name when aliased). */
export function installedVersion(packageName: string): string {
  return (require(`${packageName}/package.json`) as { version: string }).version;
}

/**
 * A release of an official client, used exactly as an application would: HubConnectionBuilder,
 * `withUrl(url, { transport })`, `withHubProtocol(new MessagePackHubProtocol())` and a logger object.
 * The package's own dependencies (ws, eventsource, request / node-fetch) provide WebSocket,
 * EventSource and HTTP in Node; nothing is patched.
 */
export function officialRelease(settings: {
  label: string;
  msgpackLabel?: string;
  client: () => OfficialClientModule;
  msgpack?: () => OfficialMsgPackModule;
  transports?: readonly MatrixTransport[];
}): ClientRelease {
  const protocols: MatrixProtocol[] = settings.msgpack ? ['json', 'messagepack'] : ['json'];
  return {
    label: settings.label,
    msgpackLabel: settings.msgpackLabel,
    transports: settings.transports ?? ['WebSockets', 'ServerSentEvents', 'LongPolling'],
    protocols,
    build(url, transport, protocol): MatrixClient {
      const log: string[] = [];
      const logger = { log: (level: number, message: string) => void (level >= WARNING && log.push(`${LEVELS[level]}: ${message}`)) };
      let builder = new (settings.client().HubConnectionBuilder)().withUrl(url, { transport: TRANSPORT_FLAGS[transport] });
      if (protocol === 'messagepack') {
        if (!settings.msgpack) throw new Error(`${settings.label} has no MessagePack protocol package`);
        builder = builder.withHubProtocol(new (settings.msgpack().MessagePackHubProtocol)());
      }
      const connection = builder.configureLogging(logger).build() as MatrixConnection;
      const closed = new Promise<Error | undefined>((resolve) => connection.onclose((error) => resolve(error)));
      return { connection, closed, log };
    },
  };
}
