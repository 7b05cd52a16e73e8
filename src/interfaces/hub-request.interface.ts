import type { IncomingHttpHeaders } from 'http';

/**
 * The HTTP request that carries a connection's transport (the WebSocket upgrade, the event-stream
 * GET, the first long poll), as ASP.NET Core exposes `Context.GetHttpContext()`. Only what hub code
 * needs is kept, not the socket.
 */
export interface HubRequest {
  readonly method: string;
  /** Path and query as received. */
  readonly url: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Cookies of the request, parsed on first use. */
  readonly cookies: Readonly<Record<string, string | undefined>>;
  readonly remoteAddress: string | undefined;
}
