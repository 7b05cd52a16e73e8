import { Logger, type HttpServer } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { HubCorsOptions } from '../auth/cors-policy.js';

/** The origin forms that `cors` (Express's `enableCors`) and `@fastify/cors` share. */
type StaticOrigin = boolean | string | RegExp | readonly (string | RegExp)[];
type OriginCallback = (error: Error | null, origin?: StaticOrigin) => void;
type OriginFunction = (origin: string, callback: OriginCallback) => unknown;

/** The part of Nest's `CorsOptions` (and `@fastify/cors`'s options) hub paths can follow. */
interface AppCorsOptions {
  origin?: StaticOrigin | OriginFunction;
  credentials?: boolean;
  maxAge?: number;
  /** `@fastify/cors`'s per-request options. */
  delegator?: unknown;
}

/** A middleware `app.use()` was given: its function's name, and the path it was mounted on, if any. */
interface AppMiddleware {
  name: string;
  path: string | null;
}

/** Adapter methods that call the adapter's `use()` for Nest itself, not for a middleware of the user's. */
const NEST_OWN_USES = ['enableCors', 'useStaticAssets', 'useBodyParser'] as const;

/** What is logged about the app's HTTP settings that hub paths do not follow (context 'SignalR'). */
export const NestHttpTexts = {
  globalPrefixIgnored: (prefix: string, paths: readonly string[]) =>
    `The global prefix '${prefix}' does not apply to hub paths (${paths.join(', ')}). Set useGlobalPrefix: true in SignalRModule's options to prefix them, or useGlobalPrefix: false to keep them as they are without this warning.`,
  middlewareSkipped: (names: readonly string[], paths: readonly string[]) =>
    `app.use() middleware (${names.join(', ')}) does not run on hub paths (${paths.join(', ')}): the hub router answers them before the HTTP framework sees them. SignalRModule's authenticate and cors options apply there.`,
  corsAdopted: 'Hub paths follow the origins of app.enableCors(), as SignalRModule has no cors option.',
  corsNotAdoptable:
    'app.enableCors() was given per-request options (a function or delegator), which hub paths cannot follow: they send no CORS headers. Give SignalRModule a cors option.',
  corsOriginAsync: (origin: string) =>
    `The origin function of app.enableCors() did not answer before returning, which hub paths need: the request from '${origin}' was refused. Give SignalRModule a cors option.`,
};

/**
 * What the app asked of Nest's HTTP stack that hub paths, served in front of it, would otherwise
 * miss without a word: the options of `app.enableCors()` (or `NestFactory.create(..., { cors })`),
 * which hubs without a `cors` option of their own follow, and the middleware of `app.use()`, which
 * never sees a hub request and is named in a bootstrap warning, as is a global prefix hub paths
 * do not take.
 *
 * Nest keeps neither the CORS options nor the middleware list anywhere it exposes, so both are read
 * as they pass through the HTTP adapter's public `enableCors()` and `use()`, from the moment
 * `HttpAdapterHost` has the adapter (before the user's code can call them). `use()` calls are
 * counted only before the adapter's `init()`, which Nest calls first thing in `app.init()`, so Nest's
 * own parsers and handlers (added later) are left out, as are those `enableCors()`,
 * `useStaticAssets()` and `useBodyParser()` add.
 */
export class NestHttpSettings {
  /** The last `enableCors()` options; `unset` once a hub without a `cors` option of its own asked for them. */
  private cors: { options: unknown; unset: boolean } | null = null;
  private adopted = false;
  private readonly middleware: AppMiddleware[] = [];
  private readonly logger = new Logger('SignalR');
  private asyncOriginWarned = false;

  constructor(adapterHost: HttpAdapterHost) {
    adapterHost.init$.subscribe(() => {
      const adapter = adapterHost.httpAdapter as HttpServer | undefined;
      if (adapter) this.watch(adapter);
    });
  }

  /**
   * The CORS policy of hub paths whose module and hub options leave `cors` unset (undefined; an
   * explicit `null` keeps a hub without one): `app.enableCors()`'s origins, credentials and max age.
   */
  corsFor(resolved: HubCorsOptions | null, ...explicit: ({ cors?: HubCorsOptions | null } | undefined)[]): HubCorsOptions | null {
    if (resolved !== null || explicit.some((options) => options?.cors !== undefined)) return resolved;
    if (this.cors !== null) this.cors.unset = true;
    const adopted = this.appCors();
    if (adopted !== null) this.adopted = true;
    return adopted;
  }

  /**
   * Logs, once hubs are mapped at `paths`, whether they follow `app.enableCors()`, and a warning for
   * each setting of the app they do not follow.
   */
  report(paths: readonly string[], globalPrefix: string, useGlobalPrefix: boolean | undefined): void {
    if (paths.length === 0) return;
    if (this.adopted) this.logger.log(NestHttpTexts.corsAdopted);
    const prefix = globalPrefix.replace(/^\/+|\/+$/g, '');
    if (prefix !== '' && useGlobalPrefix === undefined) this.logger.warn(NestHttpTexts.globalPrefixIgnored(prefix, paths));
    const skipped = this.middleware.filter((middleware) => middleware.path === null || paths.some((path) => covers(middleware.path!, path)));
    if (skipped.length > 0) this.logger.warn(NestHttpTexts.middlewareSkipped([...new Set(skipped.map((middleware) => middleware.name))], paths));
    if (this.cors !== null && isPerRequest(this.cors.options) && this.cors.unset) this.logger.warn(NestHttpTexts.corsNotAdoptable);
  }

  private watch(adapter: HttpServer): void {
    // The adapter is an instance of the user's app: its own properties shadow the class's methods.
    const target = adapter as unknown as Record<string, (...args: unknown[]) => unknown>;
    let nestOwn = 0;
    let initialised = false;
    const wrap = (name: string, around: (original: (...args: unknown[]) => unknown, args: unknown[]) => unknown): void => {
      const original = target[name];
      if (typeof original !== 'function') return;
      target[name] = function (this: unknown, ...args: unknown[]) {
        return around((...inner) => original.apply(this, inner), args);
      };
    };
    wrap('enableCors', (original, args) => {
      this.cors = { options: args[0], unset: false };
      return original(...args);
    });
    for (const name of NEST_OWN_USES) {
      wrap(name, (original, args) => {
        nestOwn++;
        try {
          return original(...args);
        } finally {
          nestOwn--;
        }
      });
    }
    wrap('use', (original, args) => {
      if (nestOwn === 0 && !initialised) this.recordMiddleware(args);
      return original(...args);
    });
    wrap('init', (original, args) => {
      initialised = true;
      return original(...args);
    });
  }

  private recordMiddleware(args: unknown[]): void {
    const path = typeof args[0] === 'string' ? args[0] : null;
    for (const handler of args.flat()) {
      if (typeof handler === 'function') this.middleware.push({ name: handler.name || '<anonymous>', path });
    }
  }

  private appCors(): HubCorsOptions | null {
    if (this.cors === null || isPerRequest(this.cors.options)) return null;
    const options = (this.cors.options ?? {}) as AppCorsOptions;
    const origin = options.origin ?? '*';
    if (origin === false) return null;
    const maxAge = typeof options.maxAge === 'number' ? { maxAge: options.maxAge } : {};
    // `cors` and `@fastify/cors` send `*` with credentials if told to; browsers then refuse every
    // credentialed request, so hub paths send `*` without them (the module refuses the pair outright).
    if (origin === '*') return { origins: '*', credentials: false, ...maxAge };
    const credentials = options.credentials === true;
    if (typeof origin === 'function') return { origins: (requestOrigin) => this.askOriginFunction(origin, requestOrigin), credentials, ...maxAge };
    if (typeof origin === 'string') return { origins: [origin], credentials, ...maxAge };
    return { origins: (requestOrigin) => matches(origin, requestOrigin), credentials, ...maxAge };
  }

  /**
   * Runs an origin function of `cors`/`@fastify/cors`. Hub paths decide synchronously, so an
   * answer must come before the function returns (a plain callback call, or a boolean returned);
   * a promise or a later callback refuses the origin, with a warning the first time.
   */
  private askOriginFunction(fn: OriginFunction, origin: string): boolean {
    let answer: boolean | undefined;
    const returned = fn(origin, (error, allowed) => {
      answer ??= error === null && allowed !== undefined && matches(allowed, origin);
    });
    if (answer === undefined && typeof returned === 'boolean') answer = returned;
    if (answer !== undefined) return answer;
    if (!this.asyncOriginWarned) {
      this.asyncOriginWarned = true;
      this.logger.warn(NestHttpTexts.corsOriginAsync(origin));
    }
    return false;
  }
}

/** `cors`'s options delegate `(req, callback)`, or Nest's Fastify form `(instance) => options`, or `@fastify/cors`'s `delegator`. */
function isPerRequest(options: unknown): boolean {
  return typeof options === 'function' || (typeof options === 'object' && options !== null && (options as AppCorsOptions).delegator !== undefined);
}

/** Whether a static origin setting allows a request origin, as `cors` and `@fastify/cors` decide. */
function matches(allowed: StaticOrigin, origin: string): boolean {
  if (typeof allowed === 'boolean') return allowed;
  if (typeof allowed === 'string') return allowed === '*' || allowed === origin;
  if (allowed instanceof RegExp) return allowed.test(origin);
  return allowed.some((entry) => matches(entry, origin));
}

/** Whether middleware mounted at `mount` (Express's and middie's prefix match) sees requests on `path`. */
function covers(mount: string, path: string): boolean {
  const prefix = mount.replace(/\/+$/, '').toLowerCase();
  const target = path.toLowerCase();
  return prefix === '' || target === prefix || target.startsWith(`${prefix}/`);
}
