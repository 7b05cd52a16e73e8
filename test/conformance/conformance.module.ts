import { DynamicModule, INestApplication, Module } from '@nestjs/common';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { randomBytes } from 'crypto';
import { jwtAuthenticator, SignalRModule, type HubRequest, type SignalRModuleOptions } from '../../src/index.js';
import { redisBackplane } from '../../src/redis/index.js';
import { AuthorizedHub } from './authorized.hub.js';
import { ClientBundlesController } from './client-bundles.controller.js';
import { ClusterHub } from './cluster.hub.js';
import { EchoConnectionHandler } from './echo.connection-handler.js';
import { EndpointsController } from './endpoints.controller.js';
import { ConformanceFrontMiddleware, installFrontMiddleware } from './front-middleware.js';
import { TestHub, TestHubNoWebSockets } from './test.hub.js';
import { UncreatableHub } from './uncreatable.hub.js';

/** HS256 with a random key per process, as the ASP.NET Core app makes one per start. */
const jwtModule = JwtModule.register({ secret: randomBytes(32).toString('base64') });

/**
 * The ASP.NET Core app's JwtBearer setup: a valid token (header, or `access_token` in the query)
 * with a NameIdentifier claim makes a user; no token, an invalid or expired one, or one without
 * the claim leaves the request anonymous, which only `/authorizedhub` refuses (401).
 */
function conformanceAuthenticator(jwt: JwtService): (request: HubRequest) => Promise<object | undefined> {
  const verify = jwtAuthenticator(jwt);
  return async (request) => {
    try {
      const user = (await verify(request)) as { nameid?: unknown } | undefined;
      return typeof user?.nameid === 'string' ? user : undefined;
    } catch {
      return undefined;
    }
  };
}

/** How a conformance app is set up beyond the ASP.NET Core app. */
export interface ConformanceOptions {
  /** A Redis to share with other instances (the Redis backplane); in memory without it. */
  redisUrl?: string;
}

/**
 * The module options of the ASP.NET Core app's `AddSignalR()`: detailed errors, JSON and
 * MessagePack, any origin with credentials; and, given a Redis URL, the Redis backplane, so several instances on
 * one Redis form one cluster.
 */
function signalROptions(jwt: JwtService, options: ConformanceOptions): SignalRModuleOptions {
  return {
    enableDetailedErrors: true,
    // Any origin with credentials, as the functional-test app allows it (for its test pages on other
    // ports; never in production): only a function can say so, `'*'` never goes with credentials.
    cors: { origins: () => true },
    authenticate: conformanceAuthenticator(jwt),
    userIdProvider: (user) => (user as { nameid?: string }).nameid ?? null,
    ...(options.redisUrl ? { backplane: redisBackplane({ url: options.redisUrl }) } : {}),
  };
}

/**
 * The ASP.NET Core functional-test server (section 8 of the protocol reference) on nestjs-signalr,
 * plus `/clusterhub`. Serve it with {@link configureConformanceApp}.
 */
@Module({
  providers: [TestHub, TestHubNoWebSockets, AuthorizedHub, UncreatableHub, ClusterHub, EchoConnectionHandler],
  controllers: [EndpointsController, ClientBundlesController],
})
export class ConformanceModule {
  static forRoot(options: ConformanceOptions = {}): DynamicModule {
    return {
      module: ConformanceModule,
      imports: [
        jwtModule,
        SignalRModule.forRootAsync({ imports: [jwtModule], inject: [JwtService], useFactory: (jwt: JwtService) => signalROptions(jwt, options) }),
      ],
    };
  }
}

/**
 * What the app needs beyond its module, before it listens: CORS for any origin on its controllers
 * (hubs and `/echo` have theirs from the module options) and the front middleware (redirects,
 * bad negotiate, negotiate cookies), installed once the SignalR router is in place.
 */
export async function configureConformanceApp(app: INestApplication): Promise<void> {
  app.enableCors({ origin: true, credentials: true });
  await app.init();
  installFrontMiddleware(app.getHttpServer(), new ConformanceFrontMiddleware());
}
