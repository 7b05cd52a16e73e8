import type { HubRequest } from '../interfaces/hub-request.interface.js';
import { logAuthenticationFailed } from './endpoint-logs.js';

/** Who the caller is, decided from the HTTP request that carries a connection. */
export interface EndpointIdentity {
  // `| Promise<unknown>` is for the reader: a returned promise is awaited.
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
  authenticate?: (request: HubRequest) => unknown | Promise<unknown>;
  userIdProvider: (user: unknown) => string | null | undefined;
}

/** The user for a request: undefined when anonymous, or REFUSED. */
export const REFUSED: unique symbol = Symbol('refused');

/**
 * The user for a request on `path`, undefined when anonymous, or REFUSED when `authenticate` threw
 * (logged: it is how a token that does not verify is refused) or, with `requireAuthentication`,
 * found no user (not logged: a client without credentials is no fault of the app's).
 */
export async function identifyRequest(identity: EndpointIdentity, request: HubRequest, requireAuthentication: boolean, path: string): Promise<unknown> {
  let user: unknown;
  try {
    user = await identity.authenticate?.(request);
  } catch (error) {
    logAuthenticationFailed(path, error);
    return REFUSED;
  }
  return (user === undefined || user === null) && requireAuthentication ? REFUSED : user;
}
