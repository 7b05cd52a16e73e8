/**
 * The names this module reports under. ASP.NET Core's where it has them (semantic conventions
 * 1.28+, the `signalr.*` registry), so dashboards built for ASP.NET Core SignalR read ours unchanged;
 * our own instruments, which ASP.NET Core does not have, live under a meter of our own so they are
 * never mistaken for ASP.NET Core's.
 */

/** ASP.NET Core's meter of the connection instruments (HttpConnectionsMetrics, ASP.NET Core 8.0+). */
export const CONNECTIONS_METER = 'Microsoft.AspNetCore.Http.Connections';
/** Our meter: invocations, messages, streams, client results, groups, the backplane. */
export const SIGNALR_METER = 'nestjs-signalr';
/** ASP.NET Core 9's ActivitySource of hub method invocations (SignalRServerActivitySource). */
export const SERVER_TRACER = 'Microsoft.AspNetCore.SignalR.Server';

/** ASP.NET Core's instruments (stable semantic conventions). */
export const ConnectionInstruments = {
  activeConnections: 'signalr.server.active_connections',
  connectionDuration: 'signalr.server.connection.duration',
} as const;

/** ASP.NET Core's bucket boundaries of connection.duration (MetricsConstants.LongSecondsBucketBoundaries). */
export const LONG_SECONDS_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
/** Bucket boundaries for durations that are usually short (invocations, acks): the OTel HTTP ones. */
export const SHORT_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Ours, under SIGNALR_METER. */
export const SignalRInstruments = {
  invocationDuration: 'signalr.server.invocation.duration',
  messagesReceived: 'signalr.server.messages.received',
  messagesSent: 'signalr.server.messages.sent',
  bytesReceived: 'signalr.server.bytes.received',
  bytesSent: 'signalr.server.bytes.sent',
  slowConsumerCloses: 'signalr.server.slow_consumer.closes',
  activeStreams: 'signalr.server.active_streams',
  activeUploads: 'signalr.server.active_uploads',
  pendingClientResults: 'signalr.server.pending_client_results',
  groups: 'signalr.server.groups',
  backplanePublishes: 'signalr.backplane.publishes',
  backplaneReceives: 'signalr.backplane.receives',
  backplaneOutages: 'signalr.backplane.outages',
  backplaneConnected: 'signalr.backplane.connected',
  backplaneDroppedSends: 'signalr.backplane.dropped_sends',
  backplaneAckDuration: 'signalr.backplane.ack.duration',
} as const;

export const Attributes = {
  connectionStatus: 'signalr.connection.status',
  transport: 'signalr.transport',
  rpcSystem: 'rpc.system',
  rpcService: 'rpc.service',
  rpcMethod: 'rpc.method',
  errorType: 'error.type',
  /** Ours: `success`, `error` or `canceled` (a stream the client or the connection ended). */
  outcome: 'signalr.invocation.outcome',
  /** Ours: `json`, `messagepack`, or a custom protocol's name. */
  protocol: 'signalr.protocol',
  /** Ours: whom a HubContext send goes to (`all`, `group`, `user`, `connection`, ...). */
  sendTarget: 'signalr.send.target',
} as const;

export type ConnectionStatus = 'normal_closure' | 'timeout' | 'app_shutdown';
export type InvocationOutcome = 'success' | 'error' | 'canceled';

/** Our transport names (ASP.NET Core's HttpTransportType) to the semantic conventions' values. */
export const TRANSPORT_VALUES: Readonly<Record<string, string>> = {
  WebSockets: 'web_sockets',
  ServerSentEvents: 'server_sent_events',
  LongPolling: 'long_polling',
};
