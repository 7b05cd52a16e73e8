import type { HubRequest } from '../interfaces/hub-request.interface.js';

/**
 * The request a passport strategy sees: the Express-like subset strategies read (`passport-jwt`'s
 * extractors read `headers`, `url` and, for the body or cookie extractors, `body` and `cookies`).
 */
export interface PassportRequest {
  method: string;
  url: string;
  originalUrl: string;
  path: string;
  headers: HubRequest['headers'];
  query: Record<string, string | string[]>;
  cookies: Record<string, string | undefined>;
  body: undefined;
  ip: string | undefined;
  socket: { remoteAddress: string | undefined };
  /** The hub request itself, for strategies written for hubs. */
  hubRequest: HubRequest;
}

/** What {@link passportAuthenticator} needs of `passport` (described here, so `passport` stays optional). */
export interface PassportLike {
  authenticate(
    strategy: string | string[],
    options: { session: boolean },
    callback: (error: unknown, user?: unknown) => void,
  ): (req: PassportRequest, res: unknown, next: (error?: unknown) => void) => unknown;
}

/** Options of {@link passportAuthenticator}. */
export interface PassportAuthenticatorOptions {
  /** The passport instance the strategy is registered with. Default: the `passport` package's singleton, which `@nestjs/passport` uses. */
  passport?: PassportLike;
}

function toPassportRequest(request: HubRequest): PassportRequest {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(request.query.keys())) {
    const values = request.query.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  return {
    method: request.method,
    url: request.url,
    originalUrl: request.url,
    path: request.path,
    headers: request.headers,
    query,
    cookies: { ...request.cookies },
    body: undefined,
    ip: request.remoteAddress,
    socket: { remoteAddress: request.remoteAddress },
    hubRequest: request,
  };
}

/**
 * An `authenticate` function that runs a registered passport strategy, e.g. one of `@nestjs/passport`'s
 * `PassportStrategy(Strategy, 'jwt')` providers on `passport-jwt`, against the hub request. The
 * strategy's user (what its `validate()` returns) is the connection's user; a strategy that fails
 * (no token, a token that does not verify, `validate()` returning nothing or throwing) refuses the
 * request with 401. The strategy must be a provider of the app, so that it is registered.
 *
 * For `passport-jwt`, read the token from the header and from the `access_token` query parameter
 * (where browsers' WebSockets and event streams carry it).
 *
 * @example
 * // jwt.strategy.ts
 * @Injectable()
 * export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
 *   constructor() {
 *     super({
 *       jwtFromRequest: ExtractJwt.fromExtractors([
 *         ExtractJwt.fromAuthHeaderAsBearerToken(),
 *         ExtractJwt.fromUrlQueryParameter('access_token'),
 *       ]),
 *       secretOrKey: process.env.JWT_SECRET,
 *       algorithms: ['HS256'],
 *     });
 *   }
 *   validate(payload: { sub: string; name: string }) {
 *     return { sub: payload.sub, name: payload.name };
 *   }
 * }
 *
 * // app.module.ts
 * @Module({
 *   imports: [PassportModule, SignalRModule.forRoot({ authenticate: passportAuthenticator('jwt') })],
 *   providers: [JwtStrategy, ChatHub],
 * })
 * export class AppModule {}
 */
export function passportAuthenticator(strategy: string | string[], options: PassportAuthenticatorOptions = {}): (request: HubRequest) => Promise<unknown> {
  let passport = options.passport;
  return (request) => {
    // Loaded on first use: passport is an optional peer dependency.
    passport ??= require('passport') as PassportLike;
    const authenticator = passport;
    return new Promise((resolve, reject) => {
      const refuse = (reason: unknown) => reject(reason instanceof Error ? reason : new Error(`Passport strategy '${String(strategy)}' refused the request.`));
      // Strategies end in one of passport's actions: success (the callback with a user), fail (the
      // callback with false), error (the callback with an error), pass (next()) or redirect (res.end()).
      const done = (error: unknown, user?: unknown) => {
        if (error) refuse(error);
        else if (user === undefined || user === null || user === false) refuse(undefined);
        else resolve(user);
      };
      const response = { statusCode: 200, setHeader: () => undefined, end: () => refuse(undefined) };
      try {
        authenticator.authenticate(strategy, { session: false }, done)(toPassportRequest(request), response, (error) => refuse(error));
      } catch (error) {
        refuse(error);
      }
    });
  };
}
