import type { IncomingHttpHeaders } from 'http';

/**
 * Headers whose values repeat from one connection to the next (the same host, the same clients).
 * Secrets (authorization, cookie) and per-connection values (sec-websocket-key) are not listed:
 * they stay the request's own strings and are never kept beyond their connection.
 */
const REPEATING = new Set([
  'host',
  'connection',
  'upgrade',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'user-agent',
  'x-signalr-user-agent',
  'x-requested-with',
  'origin',
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'pragma',
  'content-type',
]);

const MAX_VALUES = 1024;
const MAX_LENGTH = 512;
const known = new Map<string, string>();

function share(value: string): string {
  if (value.length > MAX_LENGTH) return value;
  const existing = known.get(value);
  if (existing !== undefined) return existing;
  // Bounded: a flood of distinct values only restarts the sharing; it never grows memory.
  if (known.size >= MAX_VALUES) known.clear();
  known.set(value, value);
  return value;
}

/**
 * A copy of `headers` for a request a connection keeps for its whole life: values that repeat
 * across connections are one shared string each instead of a copy per connection (~110 B per
 * WebSocket connection of the official clients, several hundred with a browser's headers).
 */
export function keptHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    kept[name] = typeof value === 'string' && REPEATING.has(name) ? share(value) : value;
  }
  return kept;
}
