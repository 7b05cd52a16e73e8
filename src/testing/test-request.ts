import type { IncomingHttpHeaders } from 'http';
import type { HubRequest } from '../interfaces/hub-request.interface.js';

/**
 * The parts of the HTTP request a test connection pretends to have come with.
 *
 * @example
 * await HubTestClient.connect(app, ChatHub, { request: { url: '/chat?room=lobby', headers: { authorization: `Bearer ${token}` } } });
 */
export interface TestRequestInit {
  /** Path and query, e.g. `/chat?room=lobby`; the hub's path when omitted. */
  url?: string;
  /** Request headers, lower-case names (e.g. `authorization`, `cookie`). */
  headers?: IncomingHttpHeaders;
  remoteAddress?: string;
}

/** A `HubRequest` for a connection that has no HTTP request behind it. */
export function testRequest(init: TestRequestInit, hubPath: string): HubRequest {
  const url = init.url ?? hubPath;
  const queryStart = url.indexOf('?');
  const headers = init.headers ?? {};
  const cookies: Record<string, string | undefined> = {};
  for (const pair of (headers.cookie ?? '').split(';')) {
    const separator = pair.indexOf('=');
    if (separator > 0) cookies[pair.slice(0, separator).trim()] = decodeURIComponent(pair.slice(separator + 1).trim());
  }
  return {
    method: 'GET',
    url,
    path: queryStart === -1 ? url : url.slice(0, queryStart),
    query: new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1)),
    headers,
    cookies,
    remoteAddress: init.remoteAddress ?? '127.0.0.1',
  };
}
