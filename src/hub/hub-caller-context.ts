import type { HubConnection } from '../connection/hub-connection.js';
import type { TransportName } from '../connection/connection-transport.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';

/**
 * Who is calling: the connection behind the current hub method or lifecycle hook, as ASP.NET Core's
 * `HubCallerContext`. Available as `this.context` in a class that extends `Hub`.
 *
 * @example
 * whoAmI() {
 *   return { id: this.context.connectionId, user: this.context.userIdentifier };
 * }
 */
export class HubCallerContext {
  /** @internal */
  constructor(private readonly connection: HubConnection) {}

  /** The public connection id (what `clients.client(id)` targets). */
  get connectionId(): string {
    return this.connection.connectionId;
  }

  /** The user id computed after the handshake (`sub` by default), or null for anonymous users. */
  get userIdentifier(): string | null {
    return this.connection.userIdentifier;
  }

  /** The user that `authenticate` resolved from the transport's HTTP request. */
  get user(): unknown {
    return this.connection.user;
  }

  /** Storage that lives as long as the connection. */
  get items(): Map<unknown, unknown> {
    return this.connection.items;
  }

  /** The HTTP request that carries the transport (the WebSocket upgrade). */
  get request(): HubRequest {
    return this.connection.request!;
  }

  /** The transport in use. */
  get transport(): TransportName | undefined {
    return this.connection.transport?.name;
  }

  /** Fires when the connection ends. */
  get connectionAborted(): AbortSignal {
    return this.connection.abortSignal;
  }

  /** Ends the connection: the client gets a Close message and the hub's onDisconnected runs. */
  abort(): void {
    this.connection.controller?.abort(this.connection);
  }
}
