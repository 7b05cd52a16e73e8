import { types } from 'util';

/**
 * Every text a client or operator sees, in one place. Client-facing strings are ASP.NET Core's, byte
 * for byte, so clients and tests written against it behave the same here.
 */

/**
 * `Type: message`, the detail ASP.NET Core appends when detailed errors are on. isNativeError also
 * knows errors of another realm (V8 may raise a stack overflow in a different one than the caller's).
 */
export function errorDetail(error: unknown): string {
  if (error instanceof Error || types.isNativeError(error)) return `${error.name}: ${error.message}`;
  return `Error: ${String(error)}`;
}

function withDetail(prefix: string, error: unknown, detailed: boolean): string {
  return detailed ? `${prefix} ${errorDetail(error)}` : prefix;
}

export const HandshakeTexts = {
  canceled: 'Handshake was canceled.',
  unsupportedProtocol: (name: string) => `The protocol '${name}' is not supported.`,
  unsupportedVersion: (version: number, name: string) => `The server does not support version ${version} of the '${name}' protocol.`,
  unsupportedTransferFormat: (name: string) =>
    `Cannot use the '${name}' protocol on the current transport. The transport does not support 'Binary' transfer format.`,
  unexpected: (error: unknown, detailed: boolean) => withDetail('An unexpected error occurred during connection handshake.', error, detailed),
};

export const CloseTexts = {
  withError: (error: unknown, detailed: boolean) => withDetail('Connection closed with an error.', error, detailed),
  messageTooLarge: (limit: number) =>
    `The maximum message size of ${limit}B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.`,
  clientTimeout: "Client hasn't sent a message/ping within the configured clientTimeoutInterval.",
  sendBufferFull: (limit: number) => `The connection's send buffer exceeded ${limit} bytes.`,
  /** A client's Sequence message claiming more than it ever sent (stateful reconnect). */
  sequenceTooLarge: "Sequence ID greater than amount of messages we've received.",
};

export const InvocationTexts = {
  methodNotFound: (target: string) => `Failed to invoke '${target}' due to an error on the server. HubException: Method does not exist.`,
  bindingFailed: (target: string, error: unknown, detailed: boolean) =>
    withDetail(`Failed to invoke '${target}' due to an error on the server.`, error, detailed),
  argumentCount: (given: number, expected: number) => `Invocation provides ${given} argument(s) but target expects ${expected}.`,
  /** HubException details always reach the client; other errors only with detailed errors on. */
  failed: (target: string, error: unknown, detailed: boolean, isHubException: boolean) =>
    withDetail(`An unexpected error occurred invoking '${target}' on the server.`, error, detailed || isHubException),
  unauthorized: (target: string) => `Failed to invoke '${target}' because user is unauthorized`,
  streamingWithInvoke: (target: string) => `The client attempted to invoke the streaming '${target}' method with a non-streaming invocation.`,
  nonStreamingWithStream: (target: string) => `The client attempted to invoke the non-streaming '${target}' method with a streaming invocation.`,
  /** An error thrown while a stream produces items; HubException details always reach the client. */
  streamFailed: (error: unknown, detailed: boolean, isHubException: boolean) =>
    withDetail('An error occurred on the server while streaming results.', error, detailed || isHubException),
  invocationIdInUse: (id: string) => `Invocation ID '${id}' is already in use.`,
  streamCount: (sent: number, expected: number) => `Client sent ${sent} stream(s), Hub method expects ${expected}.`,
  /** A StreamInvocation beyond maximumStreamsPerClient (no ASP.NET Core counterpart). */
  tooManyStreams: (target: string, limit: number) =>
    `Failed to invoke '${target}' because the connection already has ${limit} stream(s) running, the maximum (maximumStreamsPerClient).`,
  /** An invocation whose uploads would go beyond maximumUploadsPerClient (no ASP.NET Core counterpart). */
  tooManyUploads: (target: string, limit: number) =>
    `Failed to invoke '${target}' because the connection would have more than ${limit} client stream(s) open, the maximum (maximumUploadsPerClient).`,
};

const PENDING_CLIENT_RESULTS_CAP = '(maximumPendingClientResultsPerClient).';

/** Client results beyond maximumPendingClientResultsPerClient (no ASP.NET Core counterpart). */
export const ClientResultCapTexts = {
  tooManyPending: (connectionId: string, limit: number) =>
    `Connection '${connectionId}' already has ${limit} client result(s) pending, the maximum ${PENDING_CLIENT_RESULTS_CAP}`,
  /** Whether an answer relayed by another instance is that refusal (it then rejects as the local one does). */
  isTooManyPending: (text: string) => text.startsWith("Connection '") && text.endsWith(PENDING_CLIENT_RESULTS_CAP),
};

export const HttpTexts = {
  connectionIdRequired: 'Connection ID required',
  connectionNotFound: 'No Connection with that ID',
  transportNotSupported: (transport: string) => `${transport} transport not supported by this end point type`,
  cannotChangeTransport: 'Cannot change transports mid-connection',
  postOnWebSocket: 'POST requests are not allowed for WebSocket connections.',
  deleteNotLongPolling: 'Cannot terminate this connection using the DELETE endpoint.',
  nonIntegerVersion: 'The client requested a non-integer protocol version.',
  unsupportedVersion: (version: number) => `The client requested version '${version}', but the server does not support this version.`,
  /** New connections refused while the server shuts down (503). */
  shuttingDown: 'The server is shutting down.',
};

export const LogTexts = {
  duplicateHubPath: (path: string, first: string, second: string) => `Hub path '${path}' is used by both ${first} and ${second}. Each hub needs its own path.`,
  duplicateHubMethod: (hub: string, name: string) =>
    `Hub ${hub} has more than one method named '${name}' (names are compared case-insensitively). Rename one with @HubMethodName().`,
  scopedHub: (hub: string) =>
    `Hub ${hub} is request-scoped or depends on a request-scoped provider; hubs must be singletons (the caller reaches methods through this.context).`,
  hubNotProvided: (hub: string) => `HubContext for ${hub} was injected, but ${hub} is not a provider of this application: its sends reach nobody.`,
  shutdownTimedOut: (hub: string, pending: number, what: string) =>
    `Shutdown of hub ${hub}: ${pending} connection(s) still ${what} after the shutdown timeout; not waiting for them.`,
  connectionHandlerShutdownTimedOut: (handler: string, pending: number) =>
    `Shutdown of connection handler ${handler}: ${pending} handler(s) still running after the shutdown timeout; not waiting for them.`,
  stickySessionsNeeded:
    "Another instance serves this app's hubs over the same backplane, and connectionTokenSecret is not set: negotiate-based transports need sticky sessions (every request of a connection must reach the instance that answered its negotiate). Give every instance the same connectionTokenSecret to scale out without them.",
  noHttpServer: 'SignalRModule found no HTTP server (is this a standalone application context?); hubs are not served.',
  /** `cors: { origins: '*', credentials: true }`: refused at bootstrap, with ASP.NET Core's reason. */
  corsAnyOriginWithCredentials:
    'The CORS protocol does not allow specifying a wildcard (any) origin and credentials at the same time. Configure the CORS policy by listing individual origins (or deciding with a function) if credentials needs to be supported.',
  /** A request on a connection by another user than its owner: refused with 403 (ASP.NET Core's UserNameChangedRejected). */
  userNameChanged: (previous: string, current: string, connectionId: string) =>
    `Rejecting the request because the name of the user changed from '${previous}' to '${current}' on connection ${connectionId}.`,
  /** A value the hub protocol cannot write (BigInt, a cycle, too deep, a throwing toJSON): one line, no stack. */
  resultNotSerialized: (method: string, error: unknown) => `The result of hub method '${method}' could not be serialized. ${oneLine(error)}`,
  streamItemNotSerialized: (invocationId: string, error: unknown) =>
    `An item of stream '${invocationId}' could not be serialized; the stream ends with an error. ${oneLine(error)}`,
  argumentsNotSerialized: (method: string, protocol: string, error: unknown) =>
    `The arguments of client method '${method}' could not be serialized with the ${protocol} protocol; its recipients do not get the call. ${oneLine(error)}`,
  /** A Nest HTTP or gateway parameter decorator on a hub method parameter (nothing would fill it). */
  foreignParameter: (hub: string, method: string, index: number, what: string, instead: string) =>
    `Hub ${hub} method '${method}': parameter ${index} has ${what}, which hubs do not fill. ${instead}`,
  /** @SubscribeMessage() on a hub method. */
  subscribeMessage: (hub: string, method: string, message: string) =>
    `Hub ${hub} method '${method}' has @SubscribeMessage('${message}'), which hubs do not use: every public method of a hub is invocable by its own name. Remove it, or give the method another name on the wire with @HubMethodName('${message}').`,
  /** A public hub method named like a gateway hook: Nest does not call it on hubs, and clients can. */
  gatewayHookName: (hub: string, method: string, hook: string) =>
    `Hub ${hub} has a public method '${method}', named like a Nest gateway hook: hubs do not call it (use ${hook}), and clients can invoke it. Rename it, or mark it @NotHubMethod() to keep it off the wire.`,
  /** Hub methods whose argument types pipes cannot see (TypeScript records them only for decorated methods). */
  untypedParameters: (hub: string, methods: string[]) =>
    `Hub ${hub}: pipes apply to its methods, but TypeScript recorded no parameter types for ${methods.map((name) => `'${name}'`).join(', ')} (it records them only for decorated methods, with emitDecoratorMetadata on), so pipes such as ValidationPipe get no metatype and skip their arguments. Give each a method decorator, e.g. @HubMethodName('${methods[0]}') on '${methods[0]}'.`,
  /** An exception nothing expected while serving a request: ASP.NET Core's server answers 500 and logs it (ApplicationError). */
  requestFailed: (what: string, path: string, cutOff: boolean) =>
    `Failed to serve ${what} on ${path}: an unhandled exception was thrown; ${cutOff ? 'its response, already begun, is cut off' : 'the request is answered with 500'}.`,
  /** `authenticate` threw: the request is refused as any failed authentication is, and why is said here. */
  authenticationFailed: (path: string, error: unknown) => `authenticate threw for a request on ${path}; it is refused with 401. ${oneLine(error)}`,
  /** A client's arguments or streams that do not fit the method (ASP.NET Core's InvalidHubParameters, at debug level). */
  invalidHubParameters: (target: string, error: unknown) => `Parameters to hub method '${target}' are incorrect. ${errorDetail(error)}`,
  /** The end of a window in which a client-caused kind of line passed its limit (src/logging/rate-limited-log.ts). */
  linesSuppressed: (count: number, what: string, limit: number, windowMs: number) =>
    `${count} more log line(s) about ${what} suppressed (at most ${limit} are written every ${windowMs / 1000} s).`,
};

/** `Type: message`, cut at the first line break (V8's circular-structure message runs over several). */
function oneLine(error: unknown): string {
  const detail = errorDetail(error);
  const lineBreak = detail.indexOf('\n');
  return lineBreak === -1 ? detail : detail.slice(0, lineBreak);
}

/** A framework release that no longer has an internal this package reaches for (src/platforms/framework-internals.ts). */
export const FrameworkTexts = {
  internalMissing: (what: string) =>
    `nestjs-signalr relies on ${what}, which the installed framework version no longer has. Install a supported version, or report this with the versions installed.`,
};

/** Why the SignalR health indicator (nestjs-signalr/terminus) reports down, and SignalRStatistics' errors. */
export const HealthTexts = {
  notServing: 'SignalR serves no hub: the app is shutting down, not yet bootstrapped, or has no HTTP server.',
  backplaneDown: (since: number | null) =>
    `The backplane is not connected${since === null ? '' : ` (since ${new Date(since).toISOString()})`}: sends reach this instance's connections only.`,
  presenceStale: (last: number | null, interval: number) =>
    `No presence heartbeat was accepted by the backplane ${last === null ? 'yet' : `since ${new Date(last).toISOString()}`} (every ${interval} ms expected): other instances may have dropped this instance's users.`,
  hubNotServed: (hub: string) => `${hub} is not a hub served by this application.`,
};
