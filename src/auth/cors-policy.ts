import type { IncomingMessage, ServerResponse } from 'http';
import { LogTexts } from '../signalr.messages.js';

/**
 * Which browser origins may use a hub, as `HubOptions.cors` (module-wide or per hub).
 *
 * Browsers send an `Origin` header on the negotiate POST, on event streams, long polls and on
 * WebSocket upgrades. With this option set, a request from an origin that is not allowed is refused
 * with 403 (WebSocket upgrades included, which CORS itself does not cover; `Sec-WebSocket-Origin`
 * counts there when `Origin` is absent, as version 8 handshakes carry it); an allowed one gets the
 * CORS headers the official browser client needs: its origin echoed in
 * `Access-Control-Allow-Origin` (never `*`, which browsers reject for credentialed requests, and
 * the client sends credentials by default) and, with credentials, `Access-Control-Allow-Credentials: true`.
 *
 * Any origin (`'*'`) never goes with credentials, as in ASP.NET Core's CORS policies: `credentials`
 * defaults to false there, and `credentials: true` with `'*'` fails the bootstrap. The official
 * browser client then needs `withCredentials: false`. To let any page connect with the user's
 * cookies on purpose, decide per origin with a function (ASP.NET Core's `SetIsOriginAllowed`). Preflight
 * `OPTIONS` requests on the hub path and on `/negotiate` are answered with 204. Requests without
 * an `Origin` (Node, .NET and other non-browser clients) and same-origin requests (the `Origin`'s
 * host is the request's `Host`) are never refused.
 *
 * @example
 * SignalRModule.forRoot({
 *   cors: { origins: ['https://app.example.com', 'http://localhost:4200'] },
 * })
 *
 * @example
 * // Any subdomain of example.com, decided per request
 * SignalRModule.forRoot({
 *   cors: { origins: (origin) => new URL(origin).hostname.endsWith('.example.com') },
 * })
 */
export interface HubCorsOptions {
  /**
   * The origins allowed, as `scheme://host[:port]` (compared without case, a trailing slash ignored),
   * `'*'` for any origin, or a function that decides.
   */
  origins: readonly string[] | '*' | ((origin: string) => boolean);
  /**
   * Sends `Access-Control-Allow-Credentials: true`, so cookies and auth headers reach the hub. Default
   * true for a list or a function, false for `'*'` (where true is refused: see above).
   */
  credentials?: boolean;
  /** How long, in seconds, a browser may cache a preflight answer (`Access-Control-Max-Age`). Default 600. */
  maxAge?: number;
}

/** Methods the hub endpoints answer: negotiate and sends (POST), streams and polls (GET), long-polling end (DELETE). */
const ALLOWED_METHODS = 'GET, POST, DELETE, OPTIONS';
const DEFAULT_MAX_AGE = 600;
/** A comma-separated list of header names, the only thing echoed from `Access-Control-Request-Headers`. */
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;

function normalizeOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '');
}

/**
 * Applies a hub's {@link HubCorsOptions} to the requests on its paths: decides whether an origin
 * is allowed, answers preflights, and adds the CORS headers to responses.
 */
export class CorsPolicy {
  private readonly allows: (origin: string) => boolean;
  private readonly credentials: boolean;
  private readonly maxAge: string;

  constructor(options: HubCorsOptions) {
    const origins = options.origins;
    if (origins === '*') this.allows = () => true;
    else if (typeof origins === 'function') this.allows = (origin) => origins(origin) === true;
    else {
      const allowed = new Set(origins.map(normalizeOrigin));
      this.allows = (origin) => allowed.has(normalizeOrigin(origin));
    }
    if (origins === '*' && options.credentials === true) throw new Error(LogTexts.corsAnyOriginWithCredentials);
    this.credentials = options.credentials ?? origins !== '*';
    this.maxAge = String(options.maxAge ?? DEFAULT_MAX_AGE);
  }

  /**
   * Checks an HTTP request on the hub's paths. Returns true when it was answered here (a refused
   * origin, or a preflight); otherwise the CORS headers, if any, are set on `res` and the endpoint
   * carries on.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return false;
    if (!this.isAllowed(origin, req)) {
      res.writeHead(403, { 'Content-Type': 'text/plain', 'Content-Length': 0 });
      res.end();
      return true;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    if (this.credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      res.setHeader('Vary', 'Origin');
      return false;
    }
    res.setHeader('Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    const requested = req.headers['access-control-request-headers']?.trim();
    if (requested && HEADER_LIST.test(requested)) res.setHeader('Access-Control-Allow-Headers', requested);
    res.setHeader('Access-Control-Max-Age', this.maxAge);
    res.writeHead(204, { 'Content-Length': 0 });
    res.end();
    return true;
  }

  /** Whether a WebSocket upgrade may go ahead (browsers apply no CORS to WebSockets: the origin check is all there is). */
  allowsUpgrade(req: IncomingMessage): boolean {
    // Version 8 handshakes (which `ws` still accepts) name the page's origin in Sec-WebSocket-Origin.
    const origin = req.headers.origin ?? (req.headers['sec-websocket-origin'] as string | undefined);
    return origin === undefined || this.isAllowed(origin, req);
  }

  private isAllowed(origin: string, req: IncomingMessage): boolean {
    return this.allows(origin) || isSameOrigin(origin, req.headers.host);
  }
}

/** A page served by the app itself: browsers send `Origin` on its POSTs and WebSockets too, and CORS never applies there. */
function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host === new URL(`http://${host}`).host;
  } catch {
    return false; // `null` (sandboxed pages, file://) or anything unparsable is never same-origin
  }
}
