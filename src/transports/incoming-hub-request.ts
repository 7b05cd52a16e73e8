import { parse as parseCookies } from 'cookie';
import type { IncomingHttpHeaders, IncomingMessage } from 'http';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import { keptHeaders } from './shared-header-values.js';

/**
 * The request as hub code sees it. A connection keeps it for its whole life, so it holds only the
 * strings it was made from: path, query and cookies are derived on use (the query anew each time,
 * so no parsed URL stays behind per connection), and nothing refers to the socket or `req`.
 */
class IncomingHubRequest implements HubRequest {
  private parsedCookies: Record<string, string | undefined> | null = null;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    readonly remoteAddress: string | undefined,
  ) {}

  get path(): string {
    const queryStart = this.url.indexOf('?');
    return new URL(queryStart === -1 ? this.url : this.url.slice(0, queryStart), 'http://localhost').pathname;
  }

  get query(): URLSearchParams {
    const queryStart = this.url.indexOf('?');
    return new URLSearchParams(queryStart === -1 ? '' : this.url.slice(queryStart + 1));
  }

  get cookies(): Record<string, string | undefined> {
    const cookie = this.headers.cookie;
    return (this.parsedCookies ??= cookie ? parseCookies(cookie) : {});
  }
}

/** The request as a connection keeps it (see IncomingHubRequest). */
export function toHubRequest(req: IncomingMessage): HubRequest {
  return new IncomingHubRequest(req.method ?? 'GET', req.url ?? '/', keptHeaders(req.headers), req.socket.remoteAddress);
}
