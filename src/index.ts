// The main entry. Typed client helpers live in `nestjs-signalr/client`, the Redis backplane in `nestjs-signalr/redis`.
export { SignalRModule } from './signalr.module.js';
export { SIGNALR_MODULE_OPTIONS } from './signalr.module-definition.js';
export type { SignalRModuleOptions, HubOptions, HubProtocolName, HubTransport } from './interfaces/signalr-options.interface.js';
export type { HubRequest } from './interfaces/hub-request.interface.js';
export { HubMethodName } from './decorators/hub-method-name.decorator.js';
export { NotHubMethod } from './decorators/not-hub-method.decorator.js';
export { InjectHubContext, getHubContextToken } from './decorators/inject-hub-context.decorator.js';
export { Hub } from './decorators/hub.decorator.js';
export type { HubDecoratorAndBase } from './decorators/hub.decorator.js';
export { HubCallerContext } from './hub/hub-caller-context.js';
export { Caller, ConnectionId, HubUser, StreamCancellation, UploadStream } from './hub/hub-params.js';
export { UPLOAD_BUFFER_CAPACITY } from './hub/hub-streams.js';
export { HubException } from './hub/hub-exception.js';
export { HubContext } from './clients/hub-context.js';
export type { ClientOf, TypedHubContext } from './clients/hub-context.js';
export { HubClients, HubCallerClients } from './clients/hub-clients.js';
export type {
  ClientProxy,
  ClientInterface,
  ClientMethodName,
  ClientMethods,
  ReservedClientMethodName,
  ReservedClientMethodError,
  SingleClientProxy,
  TypedClientProxy,
  TypedSingleClientProxy,
} from './clients/client-proxy.js';
export { ClientResultTexts } from './lifetime/client-results.js';
export { GroupManager } from './clients/group-manager.js';
export { HubLifetimeManager } from './lifetime/hub-lifetime-manager.js';
export type { HubBackplane } from './lifetime/hub-backplane.js';
export type { ConnectionStartClaims } from './interfaces/connection-start-claims.interface.js';
export type {
  CarriedAnswer,
  CarriedExchange,
  CarriedHttpRequest,
  CarryListener,
  ConnectionRelay,
  ServeCarried,
  ServedRequest,
  ServedRequestEvents,
} from './interfaces/connection-relay.interface.js';
export type { AttachAnswer, BridgedOwner, BridgeEvents, BridgeHost, BridgeLink, ConnectionBridge } from './interfaces/connection-bridge.interface.js';
export type { HubConnectionContext } from './lifetime/hub-connection-context.js';
export type { HubTarget } from './lifetime/hub-target.js';
export { SerializedHubMessage } from './lifetime/serialized-hub-message.js';
export type { SerializedMessage } from './protocol/serialized-message.js';
export type { HubProtocol, TransferFormat, RecordBounds } from './protocol/hub-protocol.js';
export { MessageType } from './protocol/hub-messages.js';
export type {
  HubMessage,
  MessageHeaders,
  InvocationMessage,
  StreamItemMessage,
  CompletionMessage,
  StreamInvocationMessage,
  CancelInvocationMessage,
  PingMessage,
  CloseMessage,
  AckMessage,
  SequenceMessage,
} from './protocol/hub-messages.js';
export type { HubPresence, PresenceEvent, PresenceSubscription } from './lifetime/hub-presence.js';
export type { TransportName } from './connection/connection-transport.js';
// Health and statistics (a @nestjs/terminus indicator over them is in `nestjs-signalr/terminus`).
export { SignalRStatistics } from './signalr.statistics.js';
export type { HubStatistics, SignalRStatisticsSnapshot } from './signalr.statistics.js';
export type { BackplaneStatistics } from './lifetime/hub-backplane.js';
// Structured log lines: what the module hands Nest's Logger as message.
export type { SignalRLogEvent, SignalRLogEventName } from './logging/log-event.js';
export { extractAccessToken } from './auth/access-token.js';
export type { AccessTokenSources } from './auth/access-token.js';
export { jwtAuthenticator } from './auth/jwt-authenticator.js';
export type { JwtAuthenticatorOptions, JwtVerifier } from './auth/jwt-authenticator.js';
export { passportAuthenticator } from './auth/passport-authenticator.js';
export type { PassportAuthenticatorOptions, PassportLike, PassportRequest } from './auth/passport-authenticator.js';
export type { HubCorsOptions } from './auth/cors-policy.js';
// Raw connections without the hub protocol (ASP.NET Core's MapConnectionHandler).
export { ConnectionHandler } from './connection-handlers/connection-handler.decorator.js';
export type { ConnectionHandlerOptions, OnRawConnection } from './connection-handlers/connection-handler.decorator.js';
export { RawConnection } from './connection-handlers/raw-connection.js';
export type { RawMessage } from './connection-handlers/raw-connection-state.js';
