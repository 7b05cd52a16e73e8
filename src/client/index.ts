/*
 * `nestjs-signalr/client`: typed hubs for apps that use the official SignalR client. Safe for browser
 * bundles: it loads no Nest or server code at runtime (hub classes are only read as types).
 */
export { typedConnection } from './typed-connection.js';
export type {
  ClientArg,
  ClientHandler,
  ClientHandlerName,
  ServerMethodArgs,
  ServerMethodName,
  ServerMethodResult,
  ServerMethods,
  ServerStreamItem,
  ServerStreamName,
  SignalRConnection,
  StreamItemOf,
  TypedHubConnection,
} from './typed-connection.js';
export type { ClientOf } from '../clients/hub-context.js';
