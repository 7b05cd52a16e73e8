import { Injectable, SetMetadata, applyDecorators } from '@nestjs/common';
import type { HubOptions } from '../interfaces/hub-options.interface.js';
import type { RawConnection } from './raw-connection.js';

/** Metadata key set by `@ConnectionHandler()` on a provider class. */
export const CONNECTION_HANDLER_METADATA = 'signalr:connection-handler';

/**
 * Settings of one connection handler; each defaults to the module's value (see `HubOptions`).
 * `maximumReceiveMessageSize` bounds one WebSocket frame or one POST body.
 *
 * @example
 * @ConnectionHandler('/feed', { transports: ['WebSockets'], requireAuthentication: true })
 * export class FeedHandler implements OnRawConnection { ... }
 */
export type ConnectionHandlerOptions = Pick<
  HubOptions,
  'transports' | 'maximumReceiveMessageSize' | 'maximumSendBufferSize' | 'pollTimeout' | 'disconnectTimeout' | 'requireAuthentication' | 'cors'
>;

/** What `@ConnectionHandler()` records on a class. */
export interface ConnectionHandlerMetadata {
  path: string;
  options: ConnectionHandlerOptions;
}

/**
 * What a `@ConnectionHandler()` provider implements: the life of one raw connection. The
 * connection ends when the returned promise settles (as ASP.NET Core's `OnConnectedAsync`), so
 * a handler usually loops over the connection's messages until the client leaves. A handler that
 * throws ends its connection too (a WebSocket with 1011), and the error is logged.
 *
 * @example
 * @ConnectionHandler('/ticker')
 * export class TickerHandler implements OnRawConnection {
 *   constructor(private readonly prices: PriceService) {}
 *
 *   async onConnected(connection: RawConnection) {
 *     const stop = this.prices.subscribe((price) => connection.send(JSON.stringify(price)));
 *     try {
 *       for await (const _ of connection); // until the client leaves
 *     } finally {
 *       stop();
 *     }
 *   }
 * }
 */
export interface OnRawConnection {
  onConnected(connection: RawConnection): void | Promise<void>;
}

/**
 * Marks a provider as the handler of raw connections at `path`, as ASP.NET Core's
 * `MapConnectionHandler<T>(path)`: negotiate, WebSockets, Server-Sent Events and Long Polling with
 * the same URLs, status codes and CORS as a hub, but no handshake and no hub protocol. Whatever the
 * client sends arrives as it was sent (a string for text, a Buffer for binary), and whatever
 * `connection.send()` is given reaches the client as it is. The official client's `HttpConnection`
 * and plain WebSockets (with or without negotiate) connect to it. List the class in a module's
 * `providers`; it may inject anything, and its `onConnected` runs once per connection.
 *
 * @example
 * @ConnectionHandler('/echo')
 * export class EchoHandler implements OnRawConnection {
 *   async onConnected(connection: RawConnection) {
 *     for await (const message of connection) connection.send(message);
 *   }
 * }
 */
export function ConnectionHandler(path: string, options: ConnectionHandlerOptions = {}): ClassDecorator {
  if (typeof path !== 'string' || path.trim().length === 0) throw new Error('@ConnectionHandler() needs the path it is served at.');
  const metadata: ConnectionHandlerMetadata = { path, options };
  return applyDecorators(Injectable(), SetMetadata(CONNECTION_HANDLER_METADATA, metadata));
}
