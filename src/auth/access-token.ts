import type { HubRequest } from '../interfaces/hub-request.interface.js';

/** Where {@link extractAccessToken} looks besides the `Authorization` header. */
export interface AccessTokenSources {
  /** Query parameter holding the token. Default `access_token`, where the official clients put it. Null to ignore the query. */
  queryParameter?: string | null;
  /** Cookie holding the token, for cookie-based auth; looked at last. Default: none. */
  cookie?: string;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The access token of a hub request, as ASP.NET Core's JWT bearer setup for SignalR reads it:
 * the `Authorization: Bearer <token>` header, else the `access_token` query parameter (browsers
 * cannot set headers on WebSockets and EventSource, so the official client puts the token in the
 * URL there, and in Node on event streams too), else, if named, a cookie. Undefined when there is none.
 *
 * @example
 * SignalRModule.forRoot({
 *   authenticate: async (request) => {
 *     const token = extractAccessToken(request, { cookie: 'session' });
 *     return token === undefined ? undefined : await sessions.userFor(token); // throw to refuse with 401
 *   },
 * })
 */
export function extractAccessToken(request: HubRequest, sources: AccessTokenSources = {}): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const bearer = BEARER.exec(header);
    if (bearer !== null) return bearer[1];
  }
  const parameter = sources.queryParameter === undefined ? 'access_token' : sources.queryParameter;
  if (parameter !== null) {
    const fromQuery = request.query.get(parameter);
    if (fromQuery) return fromQuery;
  }
  if (sources.cookie !== undefined) {
    const fromCookie = request.cookies[sources.cookie];
    if (fromCookie) return fromCookie;
  }
  return undefined;
}
