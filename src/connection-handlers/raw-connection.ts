import type { TransportName } from '../connection/connection-transport.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import type { RawConnectionState, RawMessage } from './raw-connection-state.js';

/**
 * One client of a `@ConnectionHandler()`: bytes both ways without a hub protocol, over whichever
 * transport the client chose (ASP.NET Core's `ConnectionContext`). Iterate it for what the client
 * sends (a string for text, a Buffer for binary; the loop ends when the client leaves), and
 * `send()` to write. The connection ends when the handler's `onConnected` settles, or on `close()`.
 *
 * @example
 * async onConnected(connection: RawConnection) {
 *   connection.send(`hello ${connection.connectionId}`);
 *   for await (const message of connection) {
 *     if (message === 'bye') return connection.close();
 *     connection.send(message);
 *   }
 * }
 */
export class RawConnection implements AsyncIterable<RawMessage> {
  /** @internal */
  constructor(private readonly state: RawConnectionState) {}

  /** The public connection id (negotiate's `connectionId`; the token itself without negotiate). */
  get connectionId(): string {
    return this.state.connectionId;
  }

  /** The transport in use. */
  get transport(): TransportName {
    return this.state.transport!.name;
  }

  /** The HTTP request that started the transport (the WebSocket upgrade, the event stream, the first poll). */
  get request(): HubRequest {
    return this.state.request!;
  }

  /** The user the module's `authenticate` resolved from that request, undefined when anonymous. */
  get user(): unknown {
    return this.state.user;
  }

  /** Storage that lives as long as the connection. */
  get items(): Map<unknown, unknown> {
    return this.state.items;
  }

  /** Fires when the connection ends, whoever ended it. */
  get connectionAborted(): AbortSignal {
    return this.state.abortSignal;
  }

  /** Whether the connection is still open. */
  get isOpen(): boolean {
    return this.state.state !== 'closed';
  }

  /**
   * Sends one message: a string as text, bytes as binary (a WebSocket frame of that type; the
   * HTTP transports carry the bytes as they are). Ignored once the connection is over. A client
   * that lets more than `maximumSendBufferSize` bytes pile up is disconnected.
   */
  send(data: string | Uint8Array): void {
    this.state.send(data);
  }

  /** Ends the connection once what was sent is out (a WebSocket closes with 1000). */
  close(): void {
    this.state.closer?.end(this.state, false);
  }

  [Symbol.asyncIterator](): AsyncIterator<RawMessage> {
    const state = this.state;
    return {
      next: () => state.next(),
      // Leaving the loop early stops reading; the connection itself lasts until the handler returns.
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}
