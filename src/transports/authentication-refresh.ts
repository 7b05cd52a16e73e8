import type { IncomingMessage, ServerResponse } from 'http';
import { authenticationExpiresAt } from '../auth/authentication-expiry.js';
import type { TransportConnection } from '../connection/transport-connection.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import type { ConnectionOwner } from './connection-owners.js';
import { sendJson, sendText } from './http-responses.js';
import { toHubRequest } from './incoming-hub-request.js';
import { REFUSED } from './request-identity.js';

/** Where `@microsoft/signalr` 11 puts the connection token of a refresh (ASP.NET Core's dispatcher also reads `id`). */
const CONNECTION_TOKEN_HEADER = 'x-signalr-connection-token';

/** What answering `{hub}/refresh` needs of the endpoint whose connection it renews. */
export interface RefreshableEndpoint<C extends TransportConnection> {
  /** The connection a token names at this endpoint on this instance. */
  find(token: string): C | undefined;
  /** The request's user, undefined when anonymous, or REFUSED. */
  identify(request: HubRequest): Promise<unknown>;
  ownerOf(user: unknown): ConnectionOwner;
  /** Whether `owner` is the connection's user (a refusal is logged). */
  admits(connection: C, owner: ConnectionOwner): boolean;
  /** Makes `user` the connection's user, with its expiry. */
  renew(connection: C, user: unknown): void;
  /**
   * Without sticky sessions: carries the refresh to the instance that holds the token's connection,
   * which answers it; false when none does (or the token is not one this endpoint signed). Absent for
   * a refresh that was itself carried here, and without carrying.
   */
  readonly elsewhere?: (token: string) => Promise<boolean>;
}

/**
 * Whole seconds until the user's `exp`, as ASP.NET Core reports a ticket's remaining lifetime
 * (truncated, and only while some is left); undefined without an `exp` or once it passed.
 */
export function tokenLifetimeSeconds(user: unknown, now = Date.now()): number | undefined {
  const expiresAt = authenticationExpiresAt(user);
  if (expiresAt === null || expiresAt <= now) return undefined;
  return Math.floor((expiresAt - now) / 1000);
}

function ended(connection: TransportConnection): boolean {
  return connection.state === 'closed';
}

/** ASP.NET Core's refresh refusals: a status with a JSON `{ "error": code }`. */
function refuse(res: ServerResponse, status: number, code: string): void {
  sendJson(res, status, JSON.stringify({ error: code }));
}

/**
 * `POST {hub}/refresh` as ASP.NET Core 11 answers it with `EnableAuthenticationRefresh`: the
 * connection token (header or `id`) names a connection of this instance (one another instance holds
 * is carried there, and answered by it, as its HTTP transports' requests are), the request authenticates
 * as a user, and that user is the connection's own (ASP.NET Core rejects a refresh that maps to
 * another SignalR user id with 403); then the connection takes the new user and expiry, and the
 * answer tells the client how long the new token lasts. A refresh never changes who the
 * connection is, only how long it may stay.
 */
export async function answerRefresh<C extends TransportConnection>(req: IncomingMessage, res: ServerResponse, endpoint: RefreshableEndpoint<C>): Promise<void> {
  if (req.method !== 'POST') return sendText(res, 405);
  const request = toHubRequest(req);
  const header = req.headers[CONNECTION_TOKEN_HEADER];
  const token = (typeof header === 'string' && header !== '' ? header : null) ?? request.query.get('id');
  if (token === null || token === '') return refuse(res, 400, 'missing_connection_token');
  const connection = endpoint.find(token);
  if (connection === undefined && endpoint.elsewhere !== undefined && (await endpoint.elsewhere(token))) return;
  if (connection === undefined || ended(connection)) return refuse(res, 404, 'connection_not_found');
  // Negotiate version 0 made the public id the token: knowing an id must not let anyone refresh its connection.
  if (connection.connectionId === connection.connectionToken) return refuse(res, 400, 'unsupported_negotiate_version');
  const user = await endpoint.identify(request);
  if (user === REFUSED || user === undefined || user === null) return refuse(res, 401, 'invalid_token');
  if (!endpoint.admits(connection, endpoint.ownerOf(user))) return refuse(res, 403, 'permission_change_rejected');
  // The connection may have ended while `authenticate` ran.
  if (ended(connection)) return refuse(res, 404, 'connection_not_found');
  endpoint.renew(connection, user);
  const lifetime = tokenLifetimeSeconds(user);
  sendJson(res, 200, JSON.stringify(lifetime === undefined ? {} : { tokenLifetimeSeconds: lifetime }));
}
