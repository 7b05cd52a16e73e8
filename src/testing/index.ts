// `nestjs-signalr/testing`: test hubs the way Nest users test providers. `HubTestServer` starts the
// app on a free port and hands out official clients; `HubTestClient` connects in process, on the
// in-memory transport, as any user, and records what the server sent.
export { HubTestServer } from './hub-test-server.js';
export type { HubTestConnectOptions, HubTestServerOptions, HubTestServerSource } from './hub-test-server.js';
export { HubTestClient } from './hub-test-client.js';
export type { HubTestClientOptions } from './hub-test-client.js';
export { HubTestStream, TestUpload } from './test-streams.js';
export type { TestRequestInit } from './test-request.js';
export { InMemoryPeer, InMemoryTransport } from './in-memory-transport.js';
export type { TestHandshakeResponse, TestProtocolName } from './in-memory-transport.js';
export { MessageType } from '../protocol/hub-messages.js';
// The hub protocol's messages and the protocol contract, which InMemoryPeer writes and reads.
export type {
  AckMessage,
  CancelInvocationMessage,
  CloseMessage,
  CompletionMessage,
  HubMessage,
  InvocationMessage,
  MessageHeaders,
  PingMessage,
  SequenceMessage,
  StreamInvocationMessage,
  StreamItemMessage,
} from '../protocol/hub-messages.js';
export type { HubProtocol, RecordBounds, TransferFormat } from '../protocol/hub-protocol.js';
// The contract the in-memory transport implements, for tests that start a connection by hand.
export type { ConnectionTransport, TransportEvents, TransportName, TransportOwner } from '../connection/connection-transport.js';
