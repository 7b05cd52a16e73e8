import type { HubCorsOptions } from './auth/cors-policy.js';

/** Metadata key set by `@Hub()` on a hub class. */
export const HUB_METADATA = 'signalr:hub';
/** Metadata key set by `@HubMethodName()` on a hub method. */
export const HUB_METHOD_NAME_METADATA = 'signalr:hub-method-name';
/** Metadata key set by `@NotHubMethod()` on a public method that clients must not invoke. */
export const NOT_HUB_METHOD_METADATA = 'signalr:not-hub-method';

/** ASP.NET Core's defaults (HubOptionsSetup.cs, HttpConnectionDispatcherOptions.cs), in milliseconds and bytes. */
export const DEFAULT_HUB_OPTIONS = {
  keepAliveInterval: 15_000,
  clientTimeoutInterval: 30_000,
  handshakeTimeout: 15_000,
  maximumReceiveMessageSize: 32_768,
  enableDetailedErrors: false,
  maximumParallelInvocationsPerClient: 1,
  /** Bytes a connection may have waiting to be sent before its invocations wait for the client to read. */
  maximumSendBufferSize: 1_048_576,
  /** How long a connection may stay above maximumSendBufferSize before it is closed as a slow consumer. */
  sendBufferTimeout: 5_000,
  /** Caps of what one client can make the server hold; ASP.NET Core has none of them. */
  maximumStreamsPerClient: 100,
  maximumUploadsPerClient: 100,
  maximumPendingClientResultsPerClient: 100,
  transports: ['WebSockets', 'ServerSentEvents', 'LongPolling'],
  protocols: ['json', 'messagepack'],
  pollTimeout: 90_000,
  disconnectTimeout: 15_000,
  requireAuthentication: false,
  closeOnAuthenticationExpiration: false,
  enableAuthenticationRefresh: false,
  /** No origin checks, no CORS headers (see HubOptions.cors). */
  cors: null as HubCorsOptions | null,
  allowStatefulReconnects: false,
  statefulReconnectBufferSize: 100_000,
} as const;
/** Upper bound of the sweep tick that drives pings and timeouts (ASP.NET's heartbeat is 1 s). */
export const MAX_SWEEP_INTERVAL = 1_000;
/** How long a closing WebSocket may wait for the client's close frame (ASP.NET's CloseTimeout). */
export const WEBSOCKET_CLOSE_TIMEOUT = 5_000;
/** Default of the module option `shutdownTimeout`: how long shutdown waits for invocations, then for onDisconnected. */
export const DEFAULT_SHUTDOWN_TIMEOUT = 5_000;
/** During shutdown a WebSocket gets this long to answer the close frame before it is cut off. */
export const SHUTDOWN_WEBSOCKET_CLOSE_TIMEOUT = 1_000;
