/**
 * Every text a client or operator sees, in one place. Client-facing strings are ASP.NET Core's, byte
 * for byte, so clients and tests written against it behave the same here.
 */

/** `Type: message`, the detail ASP.NET Core appends when detailed errors are on. */
export function errorDetail(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
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
  unexpected: (error: unknown, detailed: boolean) =>
    withDetail('An unexpected error occurred during connection handshake.', error, detailed),
};

export const CloseTexts = {
  withError: (error: unknown, detailed: boolean) => withDetail('Connection closed with an error.', error, detailed),
  messageTooLarge: (limit: number) =>
    `The maximum message size of ${limit}B was exceeded. The message size can be configured in AddHubOptions.`,
  clientTimeout: "Client hasn't sent a message/ping within the configured ClientTimeoutInterval.",
  sendBufferFull: (limit: number) => `The connection's send buffer exceeded ${limit} bytes.`,
  /** A client's Sequence message claiming more than it ever sent (stateful reconnect). */
  sequenceTooLarge: "Sequence ID greater than amount of messages we've received.",
};

export const InvocationTexts = {
  methodNotFound: (target: string) =>
    `Failed to invoke '${target}' due to an error on the server. HubException: Method does not exist.`,
  bindingFailed: (target: string, error: unknown, detailed: boolean) =>
    withDetail(`Failed to invoke '${target}' due to an error on the server.`, error, detailed),
  argumentCount: (given: number, expected: number) =>
    `Invocation provides ${given} argument(s) but target expects ${expected}.`,
  /** HubException details always reach the client; other errors only with detailed errors on. */
  failed: (target: string, error: unknown, detailed: boolean, isHubException: boolean) =>
    withDetail(`An unexpected error occurred invoking '${target}' on the server.`, error, detailed || isHubException),
  unauthorized: (target: string) => `Failed to invoke '${target}' because user is unauthorized`,
  streamingWithInvoke: (target: string) =>
    `The client attempted to invoke the streaming '${target}' method with a non-streaming invocation.`,
  nonStreamingWithStream: (target: string) =>
    `The client attempted to invoke the non-streaming '${target}' method with a streaming invocation.`,
  /** An error thrown while a stream produces items; HubException details always reach the client. */
  streamFailed: (error: unknown, detailed: boolean, isHubException: boolean) =>
    withDetail('An error occurred on the server while streaming results.', error, detailed || isHubException),
  invocationIdInUse: (id: string) => `Invocation ID '${id}' is already in use.`,
  streamCount: (sent: number, expected: number) => `Client sent ${sent} stream(s), Hub method expects ${expected}.`,
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
  duplicateHubPath: (path: string, first: string, second: string) =>
    `Hub path '${path}' is used by both ${first} and ${second}. Each hub needs its own path.`,
  duplicateHubMethod: (hub: string, name: string) =>
    `Hub ${hub} has more than one method named '${name}' (names are compared case-insensitively). Rename one with @HubMethodName().`,
  scopedHub: (hub: string) =>
    `Hub ${hub} is request-scoped or depends on a request-scoped provider; hubs must be singletons (the caller reaches methods through this.context).`,
  hubNotProvided: (hub: string) =>
    `HubContext for ${hub} was injected, but ${hub} is not a provider of this application: its sends reach nobody.`,
  shutdownTimedOut: (hub: string, pending: number, what: string) =>
    `Shutdown of hub ${hub}: ${pending} connection(s) still ${what} after the shutdown timeout; not waiting for them.`,
  noHttpServer: 'SignalRModule found no HTTP server (is this a standalone application context?); hubs are not served.',
  /** The end of a window in which a client-caused kind of line passed its limit (src/logging/rate-limited-log.ts). */
  linesSuppressed: (count: number, what: string, limit: number, windowMs: number) =>
    `${count} more log line(s) about ${what} suppressed (at most ${limit} are written every ${windowMs / 1000} s).`,
};
