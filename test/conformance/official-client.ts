import { HttpTransportType, HubConnection, HubConnectionBuilder, IHttpConnectionOptions, IHubProtocol, JsonHubProtocol, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import type { IConnection } from '@microsoft/signalr/dist/esm/IConnection';
import { configureConformanceApp, ConformanceModule, type ConformanceOptions } from './conformance.module.js';
import { startApp, TestApp } from '../support/app.js';

/** A transport and hub protocol the official client supports together (MessagePack is binary: no SSE). */
export interface Variant {
  name: string;
  transportName: 'WebSockets' | 'ServerSentEvents' | 'LongPolling';
  transport: HttpTransportType;
  protocolName: 'json' | 'messagepack';
  protocol(): IHubProtocol;
}

const json = () => new JsonHubProtocol();
const messagePack = () => new MessagePackHubProtocol();

/** Every pair the official client can use, as the ASP.NET Core functional tests run them. */
export const VARIANTS: readonly Variant[] = [
  { name: 'json over WebSockets', transportName: 'WebSockets', transport: HttpTransportType.WebSockets, protocolName: 'json', protocol: json },
  {
    name: 'json over ServerSentEvents',
    transportName: 'ServerSentEvents',
    transport: HttpTransportType.ServerSentEvents,
    protocolName: 'json',
    protocol: json,
  },
  { name: 'json over LongPolling', transportName: 'LongPolling', transport: HttpTransportType.LongPolling, protocolName: 'json', protocol: json },
  {
    name: 'messagepack over WebSockets',
    transportName: 'WebSockets',
    transport: HttpTransportType.WebSockets,
    protocolName: 'messagepack',
    protocol: messagePack,
  },
  {
    name: 'messagepack over LongPolling',
    transportName: 'LongPolling',
    transport: HttpTransportType.LongPolling,
    protocolName: 'messagepack',
    protocol: messagePack,
  },
];

/** The three transports, each with JSON. */
export const JSON_VARIANTS = VARIANTS.filter((variant) => variant.protocolName === 'json');

const open = new Set<HubConnection>();

/** An official HubConnection on the variant (logging off), stopped by `stopClients()`. */
export function hubClient(
  url: string,
  variant: Variant | null,
  options: IHttpConnectionOptions = {},
  customize: (builder: HubConnectionBuilder) => HubConnectionBuilder = (builder) => builder,
): HubConnection {
  const builder = new HubConnectionBuilder()
    .withUrl(url, variant === null ? options : { transport: variant.transport, ...options })
    .configureLogging(LogLevel.None);
  const connection = customize(variant === null ? builder : builder.withHubProtocol(variant.protocol())).build();
  open.add(connection);
  return connection;
}

export async function startedClient(url: string, variant: Variant | null, options: IHttpConnectionOptions = {}): Promise<HubConnection> {
  const connection = hubClient(url, variant, options);
  await connection.start();
  return connection;
}

export async function stopClients(): Promise<void> {
  await Promise.all([...open].map((connection) => connection.stop().catch(() => undefined)));
  open.clear();
}

/** The official client's HttpConnection (what ASP.NET Core's ConnectionTests drive against `/echo`); not exported by the package's index. */
export const HttpConnection: new (url: string, options?: IHttpConnectionOptions) => IConnection =
  require('@microsoft/signalr/dist/cjs/HttpConnection').HttpConnection;

/** The User-Agent header the client sends (`[name, value]`), from the client's own code. */
export const getUserAgentHeader: () => [string, string] = require('@microsoft/signalr/dist/cjs/Utils').getUserAgentHeader;

/** The conformance app, in process, on this run's platform and a free port. */
export function startConformanceApp(options: ConformanceOptions = {}): Promise<TestApp> {
  return startApp({ imports: [ConformanceModule.forRoot(options)] }, configureConformanceApp);
}

/** Resolves with the error (or undefined) the client reports when it closes. */
export function closedWith(connection: HubConnection): Promise<Error | undefined> {
  return new Promise((resolve) => connection.onclose((error) => resolve(error)));
}

/** Settles a promise into the text a test compares: `ok: <json>` or the error's message. */
export async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    return `ok: ${JSON.stringify(await promise)}`;
  } catch (error) {
    return (error as Error).message;
  }
}
