import type { HubRequest } from '../interfaces/hub-request.interface.js';
import { extractAccessToken } from './access-token.js';

/**
 * What {@link jwtAuthenticator} needs of `@nestjs/jwt`'s `JwtService` (described here rather than
 * imported, so the library does not require `@nestjs/jwt` to be installed).
 */
export interface JwtVerifier {
  verifyAsync(token: string, options?: Record<string, unknown>): Promise<unknown>;
}

/** Options of {@link jwtAuthenticator}. */
export interface JwtAuthenticatorOptions {
  /**
   * The signing algorithms accepted; any other (including `none`) is refused. Default `['HS256']`.
   * Set it to what your keys are, e.g. `['RS256']` with a `publicKey`.
   */
  algorithms?: readonly string[];
  /** Also read the token from this cookie, after the `Authorization` header and the `access_token` query parameter. */
  cookie?: string;
  /** Further `jsonwebtoken` verify options (`audience`, `issuer`, `clockTolerance`, `secret`...), passed to `verifyAsync`. */
  verifyOptions?: Record<string, unknown>;
}

/**
 * An `authenticate` function on `@nestjs/jwt`: the token comes from the `Authorization: Bearer`
 * header, the `access_token` query parameter or a named cookie (see `extractAccessToken`) and is
 * verified with an explicit algorithm allow-list. A request without a token is anonymous (refused
 * too with `requireAuthentication`); a token that fails verification (bad signature, an algorithm
 * not allowed, `alg: none`, expired, not yet valid) refuses the request with 401. The verified
 * payload is the connection's user, so `userIdentifier` is its `sub` unless a `userIdProvider` says otherwise.
 *
 * @example
 * SignalRModule.forRootAsync({
 *   imports: [JwtModule.register({ secret: process.env.JWT_SECRET })],
 *   inject: [JwtService],
 *   useFactory: (jwt: JwtService) => ({
 *     authenticate: jwtAuthenticator(jwt),
 *     requireAuthentication: true,
 *     closeOnAuthenticationExpiration: true,
 *   }),
 * })
 */
export function jwtAuthenticator(jwtService: JwtVerifier, options: JwtAuthenticatorOptions = {}): (request: HubRequest) => Promise<object | undefined> {
  const algorithms = [...(options.algorithms ?? ['HS256'])];
  if (algorithms.length === 0 || algorithms.some((name) => name.toLowerCase() === 'none')) {
    throw new Error(`jwtAuthenticator: algorithms must name at least one signing algorithm, and never 'none' (got ${JSON.stringify(algorithms)}).`);
  }
  const sources = { cookie: options.cookie };
  return async (request) => {
    const token = extractAccessToken(request, sources);
    if (token === undefined) return undefined;
    // Throws for every token that does not verify, which refuses the request with 401.
    const payload = await jwtService.verifyAsync(token, { ...options.verifyOptions, algorithms });
    if (payload === null || typeof payload !== 'object') throw new Error('The token payload is not a JSON object.');
    return payload;
  };
}
