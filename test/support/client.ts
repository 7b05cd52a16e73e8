import { HubConnection, HubConnectionBuilder, HttpTransportType, IHttpConnectionOptions, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';

/** What the official client's start() reports when negotiate answers 401 with an empty body. */
export const UNAUTHORIZED = "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'";

/** Every transport, named, for tests that run on each. */
export const TRANSPORTS = [
  ['WebSockets', HttpTransportType.WebSockets],
  ['ServerSentEvents', HttpTransportType.ServerSentEvents],
  ['LongPolling', HttpTransportType.LongPolling],
] as const;

/** Official client connections opened by a test, stopped by `stopAll()`. */
const open = new Set<HubConnection>();

/** Builds an official `@microsoft/signalr` client for `url`, without logging. */
export function buildClient(url: string, options: IHttpConnectionOptions = {}): HubConnection {
  const connection = new HubConnectionBuilder()
    .withUrl(url, { transport: HttpTransportType.WebSockets, ...options })
    .configureLogging(LogLevel.None)
    .build();
  open.add(connection);
  return connection;
}

/**
 * An official client speaking the official MessagePack protocol over WebSockets, without logging.
 * Not started, and not among the connections `stopAll()` stops: the caller owns it.
 */
export function buildMsgpackClient(url: string): HubConnection {
  return new HubConnectionBuilder()
    .withUrl(url, { transport: HttpTransportType.WebSockets })
    .withHubProtocol(new MessagePackHubProtocol())
    .configureLogging(LogLevel.None)
    .build();
}

/** Builds and starts a client. */
export async function connect(url: string, options: IHttpConnectionOptions = {}): Promise<HubConnection> {
  const connection = buildClient(url, options);
  await connection.start();
  return connection;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...open].map((connection) => connection.stop().catch(() => undefined)));
  open.clear();
}

/** Resolves with the arguments of the next call of client method `method`. */
export function nextCall(connection: HubConnection, method: string): Promise<unknown[]> {
  return new Promise((resolve) => {
    const handler = (...args: unknown[]) => {
      connection.off(method, handler);
      resolve(args);
    };
    connection.on(method, handler);
  });
}

/** Collects every call of client method `method`. */
export function recordCalls(connection: HubConnection, method: string): unknown[][] {
  const calls: unknown[][] = [];
  connection.on(method, (...args: unknown[]) => calls.push(args));
  return calls;
}

/** Resolves with the error the client reports when the connection closes. */
export function closed(connection: HubConnection): Promise<Error | undefined> {
  return new Promise((resolve) => connection.onclose((error) => resolve(error)));
}
