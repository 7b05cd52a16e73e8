import type { HubBackplane } from '../lifetime/hub-backplane.js';
import type { HubOptions } from './hub-options.interface.js';
import type { HubRequest } from './hub-request.interface.js';

export type { HubOptions, HubProtocolName, HubTransport, ResolvedHubOptions } from './hub-options.interface.js';

/** Options of `SignalRModule.forRoot()`: the defaults of every hub, plus module-wide settings. */
export interface SignalRModuleOptions extends HubOptions {
  /**
   * Prefix hub paths with the app's global prefix (`app.setGlobalPrefix`). Default false, like gateways
   * and ASP.NET Core's `MapHub`; while a prefix is set and this is unset, the bootstrap warns.
   */
  useGlobalPrefix?: boolean;
  /**
   * Resolves the user of a connection from the HTTP request that carries it (and from negotiate).
   * Return undefined for an anonymous user; throw to refuse the request with 401.
   */
  // `| Promise<unknown>` is for the reader: a returned promise is awaited.
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
  authenticate?: (request: HubRequest) => unknown | Promise<unknown>;
  /** Computes the user identifier that `user()`/`users()` target. Default: the user's `sub`. */
  userIdProvider?: (user: unknown) => string | null | undefined;
  /**
   * On shutdown (`app.close()`, SIGTERM with shutdown hooks): how long in-flight invocations may run
   * before every connection is closed anyway, and then how long onDisconnected hooks are awaited.
   * Default 5000 ms.
   */
  shutdownTimeout?: number;
  /**
   * Spreads every hub across instances, e.g. `redisBackplane({ url })`: sends, groups, client
   * results and presence then reach connections on any instance. Default none: in memory, one process.
   */
  backplane?: HubBackplane;
  /**
   * A secret shared by every instance (at least 32 bytes), so that WebSocket connections need no
   * sticky sessions: negotiate keeps no record and signs the connection token with it (HMAC-SHA256,
   * binding the connection id, the user and the stateful reconnect grant), and the request that starts
   * the transport verifies it on whichever instance it reaches and makes the connection there. Clients
   * still see an opaque token. Default none: tokens are random and a connection must reach the
   * instance that negotiated it. Rotating it refuses (404) only connections negotiated but not yet started.
   *
   * @example
   * SignalRModule.forRoot({ backplane: redisBackplane({ url }), connectionTokenSecret: process.env.SIGNALR_TOKEN_SECRET });
   */
  connectionTokenSecret?: string | Buffer;
}
