import type { HubCorsOptions } from '../auth/cors-policy.js';
import type { TransportName } from '../connection/connection-transport.js';

/**
 * Transports a hub can offer, in the order negotiate lists them (clients try them in that order).
 *
 * @example
 * const transports: HubTransport[] = ['WebSockets', 'LongPolling'];
 * SignalRModule.forRoot({ transports });
 */
export type HubTransport = TransportName;

/**
 * Hub protocols a hub can offer.
 *
 * @example
 * const protocols: HubProtocolName[] = ['json'];
 * SignalRModule.forRoot({ protocols });
 */
export type HubProtocolName = 'json' | 'messagepack';

/** Settings a hub can override; every one defaults to ASP.NET Core's value. Durations are milliseconds. */
export interface HubOptions {
  /** Server sends a Ping when it has written nothing for this long. Default 15,000. */
  keepAliveInterval?: number;
  /** Connection is closed when the client (after its first Ping) sends nothing for this long. Default 30,000. */
  clientTimeoutInterval?: number;
  /** A connection that has not completed the handshake in this time is refused. Default 15,000. */
  handshakeTimeout?: number;
  /** Largest incoming message in bytes, handshake included; null for no limit. Default 32,768. */
  maximumReceiveMessageSize?: number | null;
  /** Adds the error's type and message to errors sent to clients. Default false. */
  enableDetailedErrors?: boolean;
  /** Invocations of one connection that may run at once. Default 1 (sequential). */
  maximumParallelInvocationsPerClient?: number;
  /**
   * Bytes a connection may have waiting to be sent (with stateful reconnect: unacknowledged). Beyond
   * it the connection's invocations wait until its client reads, so a client that reads is never
   * closed for the size of its replies; one that stays beyond it for `sendBufferTimeout`, or is sent
   * more while twice this far behind, is closed as a slow consumer. Default 1 MiB.
   */
  maximumSendBufferSize?: number;
  /** How long a connection may hold more than `maximumSendBufferSize` unsent bytes before it is closed as a slow consumer. Default 5,000. */
  sendBufferTimeout?: number;
  /**
   * Server-to-client streams (`connection.stream(...)`) one connection may have running at once. A
   * StreamInvocation beyond it is refused with an error Completion before the method is called; the
   * connection stays open. ASP.NET Core has no such cap. Default 100.
   */
  maximumStreamsPerClient?: number;
  /**
   * Client-to-server streams (uploads: `Subject`s among a call's arguments) one connection may have
   * open at once. An invocation whose uploads would go beyond it is refused with an error Completion
   * before the method is called; the connection stays open. ASP.NET Core has no such cap. Default 100.
   */
  maximumUploadsPerClient?: number;
  /**
   * Client results (`clients.client(id).invoke(...)`, `clients.caller.invoke(...)`) one connection may
   * have awaiting its answer at once, across all instances with a backplane. A call beyond it rejects
   * at once, and nothing is sent to the client. ASP.NET Core has no such cap. Default 100.
   */
  maximumPendingClientResultsPerClient?: number;
  /** Transports offered, in negotiate's order. Default all three: WebSockets, ServerSentEvents, LongPolling. */
  transports?: readonly HubTransport[];
  /** Hub protocols accepted in the handshake. Default both: json and messagepack. */
  protocols?: readonly HubProtocolName[];
  /** How long a long poll waits for data before it returns empty (ASP.NET's PollTimeout). Default 90,000. */
  pollTimeout?: number;
  /**
   * How long a connection may go without a transport request (a long poll between polls, a negotiated
   * connection never opened) before it is disposed (ASP.NET's DisconnectTimeout). Default 15,000.
   */
  disconnectTimeout?: number;
  /**
   * Refuses requests whose `authenticate` found no user (it returned undefined or null) with 401 and
   * an empty body, on negotiate and on the request that starts a transport, as ASP.NET Core's
   * `[Authorize]` on a hub. Default false. A hub's setting overrides the module's.
   */
  requireAuthentication?: boolean;
  /**
   * Closes a connection, with a Close message that lets the client reconnect (and so fetch a fresh
   * token), once its user's numeric `exp` (seconds since the epoch, as in a JWT) has passed. ASP.NET
   * Core's `CloseOnAuthenticationExpiration`. Default false.
   */
  closeOnAuthenticationExpiration?: boolean;
  /**
   * Serves `POST {hub}/refresh`, with which `@microsoft/signalr` 11's `refreshAuthentication()` and
   * `withAuthenticationRefresh()` renew a running connection's authentication without reconnecting
   * (ASP.NET Core 11's `EnableAuthenticationRefresh`). Default false: that path is not served (404)
   * and negotiate reports no token lifetime, as before.
   *
   * When on, negotiate reports `tokenLifetimeSeconds` (from the user's numeric `exp`, as
   * `closeOnAuthenticationExpiration` reads it), so the client schedules its refreshes. A refresh is
   * authenticated like negotiate but always needs a user (else 401), and must be the connection's own
   * user (the same `userIdProvider` identifier), else 403 and nothing changes. It then replaces the
   * connection's user (what hub methods see as `context.user` from then on) and its expiry, so
   * `closeOnAuthenticationExpiration` closes the connection at the new token's `exp` instead.
   * `context.userIdentifier` never changes. Without sticky sessions (`connectionTokenSecret` and the
   * Redis backplane) a refresh that lands on another instance is carried to the connection's own.
   *
   * @example
   * ```ts
   * // Server: tokens of 15 minutes, renewed in place instead of the connection closing.
   * SignalRModule.forRoot({ authenticate, requireAuthentication: true, closeOnAuthenticationExpiration: true, enableAuthenticationRefresh: true });
   * // Client (@microsoft/signalr 11):
   * new HubConnectionBuilder().withUrl('/hubs/chat', { accessTokenFactory: getFreshToken }).withAuthenticationRefresh().build();
   * ```
   */
  enableAuthenticationRefresh?: boolean;
  /**
   * Which browser origins may use the hub (negotiate, SSE, long polling, WebSocket upgrades), with
   * the CORS responses the official browser client needs. Unset (the default): the origins of
   * `app.enableCors()` if the app called it, else no origin checks and no CORS headers; `null`: none
   * either way. See {@link HubCorsOptions}.
   */
  cors?: HubCorsOptions | null;
  /**
   * Lets clients that ask for it (`withStatefulReconnect()`) re-attach a dropped WebSocket to the same
   * connection, with every unacknowledged message replayed in order (ASP.NET Core's
   * `AllowStatefulReconnects`). Default false.
   */
  allowStatefulReconnects?: boolean;
  /**
   * Bytes of sent but unacknowledged messages a stateful connection keeps for replay; beyond it
   * sends wait for the client's acks (ASP.NET Core's `StatefulReconnectBufferSize`). Default 100,000.
   */
  statefulReconnectBufferSize?: number;
}

/** Hub options after defaults were applied. */
export type ResolvedHubOptions = Required<Omit<HubOptions, 'maximumReceiveMessageSize' | 'cors'>> & {
  maximumReceiveMessageSize: number | null;
  cors: HubCorsOptions | null;
};
