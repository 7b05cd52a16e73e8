import type { HubRequest } from '../interfaces/hub-request.interface.js';
import type { ConnectionTransport, TransportEvents } from './connection-transport.js';
import type { Sweepable } from './keep-alive.js';
import type { TransportConnection } from './transport-connection.js';

/**
 * What runs on an endpoint's connections once their transport started, as ASP.NET Core's
 * ConnectionDelegate under its HttpConnectionDispatcher: the hub connection loop, or a
 * `@ConnectionHandler()`'s runner. An endpoint knows its connections only through this contract
 * and TransportConnection; transports report to it what arrives and their end.
 */
export interface ConnectionRunner<C extends TransportConnection> extends TransportEvents<C>, Sweepable {
  /** The transport started: the connection's life begins. */
  run(connection: C, transport: ConnectionTransport, request: HubRequest): void;
  /** Connections whose life runs (for leak checks). */
  readonly connectionCount: number;
  /**
   * Shutdown (the endpoint refuses new connections meanwhile): ends every connection and waits for
   * what runs on them, at most `timeout` ms per stage. Never throws.
   */
  closeAll(timeout: number): Promise<void>;
}
