import type { IncomingMessage, Server, ServerResponse } from 'http';
import type { TLSSocket } from 'tls';

/**
 * The middleware the ASP.NET Core app runs before routing (Startup.Configure's `app.Use` calls),
 * in the same order. Hub paths are served in front of Nest's middleware, so these run earlier
 * still: on the HTTP server's 'request' event, ahead of every listener.
 */
export class ConformanceFrontMiddleware {
  /** Every `/redirect` answer sends the client to a new `numRedirects`. */
  private redirects = 0;

  /** Returns true when the request was answered here. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const own = startsWithSegment(path, '/echoredirect') || startsWithSegment(path, '/redirect') || startsWithSegment(path, '/bad-negotiate');
    // Preflights of the paths answered here; hub paths and controllers answer their own.
    if (own && req.method === 'OPTIONS') return this.answerPreflight(req, res);
    if (startsWithSegment(path, '/echoredirect')) {
      // Method-preserving (307), so a negotiate POST stays a POST.
      this.answer(req, res, 307, '', { Location: path.replace('echoredirect', 'echo') + url.search });
      return true;
    }
    if (startsWithSegment(path, '/redirect')) {
      this.redirects += 1;
      const target = `${url.searchParams.get('baseUrl') ?? ''}/testHub?numRedirects=${this.redirects}`;
      this.answer(req, res, 200, `{ "url": "${target}" }`, {});
      return true;
    }
    if (path.includes('/negotiate')) appendNegotiateCookies(req, res);
    if (startsWithSegment(path, '/bad-negotiate')) {
      this.answer(req, res, 400, 'Some response from server', { 'Content-Type': 'text/plain' });
      return true;
    }
    return false;
  }

  private answerPreflight(req: IncomingMessage, res: ServerResponse): boolean {
    const headers: Record<string, string> = {};
    const method = req.headers['access-control-request-method'];
    const requested = req.headers['access-control-request-headers'];
    if (method) headers['Access-Control-Allow-Methods'] = method;
    if (requested) headers['Access-Control-Allow-Headers'] = requested;
    this.answer(req, res, 204, '', headers);
    return true;
  }

  /** Answers with the app's CORS rule: any origin, echoed, with credentials. */
  private answer(req: IncomingMessage, res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
    const origin = req.headers.origin;
    if (origin) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}

/** ASP.NET Core's `PathString.StartsWithSegments`: the prefix, then the end or a slash; case-insensitive. */
function startsWithSegment(path: string, segment: string): boolean {
  const lower = path.toLowerCase();
  return lower === segment || lower.startsWith(`${segment}/`);
}

/** Two cookies the client must send back on the transport's requests, and one already expired that it must not. */
function appendNegotiateCookies(req: IncomingMessage, res: ServerResponse): void {
  const secure = (req.socket as TLSSocket).encrypted === true;
  // Cross-site requests from the test page must carry them over HTTPS.
  const attributes = secure ? '; path=/; secure; samesite=none; partitioned' : '; path=/';
  const expired = new Date(Date.now() - 60 * 60 * 1000).toUTCString();
  const previous = res.getHeader('Set-Cookie');
  const cookies = previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
  res.setHeader('Set-Cookie', [
    ...cookies,
    `testCookie=testValue${attributes}`,
    `testCookie2=testValue2${attributes}`,
    `expiredCookie=doesntmatter; expires=${expired}${attributes}`,
  ]);
}

/**
 * Runs `front` ahead of every 'request' listener of `server`, whoever adds or swaps listeners
 * later (the SignalR router does at bootstrap and again at shutdown).
 */
export function installFrontMiddleware(server: Server, front: ConformanceFrontMiddleware): void {
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'request' && front.handle(args[0] as IncomingMessage, args[1] as ServerResponse)) return true;
    return emit(event, ...args);
  }) as Server['emit'];
}
