import type { DynamicModule, INestApplication, NestApplicationOptions, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { TestingModule } from '@nestjs/testing';
import { HttpTransportType, HubConnection, HubConnectionBuilder, type IHubProtocol, LogLevel } from '@microsoft/signalr';
import type { AddressInfo, Socket } from 'net';
import type { TransportName } from '../connection/connection-transport.js';
import { HUB_METADATA } from '../signalr.constants.js';

/**
 * What `HubTestServer.start` starts: an app module, a compiled `TestingModule`, or an app you created.
 *
 * @example
 * await HubTestServer.start(AppModule);
 * await HubTestServer.start(await Test.createTestingModule({ imports: [AppModule] }).compile());
 * await HubTestServer.start(moduleRef.createNestApplication(new FastifyAdapter()));
 */
export type HubTestServerSource = Type<unknown> | DynamicModule | TestingModule | INestApplication;

/**
 * How `HubTestServer.start` builds and starts the app.
 *
 * @example
 * await HubTestServer.start(AppModule, { configure: (app) => app.useGlobalPipes(new ValidationPipe()) });
 */
export interface HubTestServerOptions {
  /** Runs on the app before it listens: global pipes, prefixes, CORS... */
  configure?: (app: INestApplication) => void | Promise<void>;
  /** Options for the app the server creates (not for an app you pass); `{ logger: false }` by default. */
  appOptions?: NestApplicationOptions;
  /** The address to listen on; `127.0.0.1` by default. */
  host?: string;
}

/**
 * How `HubTestServer.connect` builds a client.
 *
 * @example
 * await server.connect(ChatHub, { transport: 'ServerSentEvents', accessToken: token, query: 'room=lobby' });
 */
export interface HubTestConnectOptions {
  /** The transport the client uses: 'WebSockets' (default), 'ServerSentEvents' or 'LongPolling'. */
  transport?: TransportName;
  /** The hub protocol; JSON by default. For MessagePack: `new MessagePackHubProtocol()` from `@microsoft/signalr-protocol-msgpack`. */
  protocol?: IHubProtocol;
  /** The access token the client sends (`accessTokenFactory`). */
  accessToken?: string | (() => string | Promise<string>);
  /** Extra request headers (not sent by browsers' WebSockets, sent by Node's client). */
  headers?: Record<string, string>;
  /** Query string appended to the hub's URL, e.g. `room=lobby`. */
  query?: string;
  /** Leaves the client unstarted (call `start()` yourself), e.g. to register handlers first. */
  start?: boolean;
  /** Last say on the builder (reconnect policies, logging, server timeouts...). */
  configure?: (builder: HubConnectionBuilder) => HubConnectionBuilder;
}

const TRANSPORTS: Record<TransportName, HttpTransportType> = {
  WebSockets: HttpTransportType.WebSockets,
  ServerSentEvents: HttpTransportType.ServerSentEvents,
  LongPolling: HttpTransportType.LongPolling,
};

function isApplication(source: HubTestServerSource): source is INestApplication {
  return typeof (source as INestApplication).listen === 'function' && typeof (source as INestApplication).getHttpServer === 'function';
}

function isTestingModule(source: HubTestServerSource): source is TestingModule {
  return typeof (source as TestingModule).createNestApplication === 'function';
}

/**
 * A Nest app listening on a free port, handing out official `@microsoft/signalr` clients connected
 * to its hubs over real sockets (WebSockets, Server-Sent Events or long polling; JSON or
 * MessagePack). `close()` stops every client it handed out, then the app, without waiting on idle
 * keep-alive sockets. Needs `@microsoft/signalr` installed (a dev dependency of the tests).
 *
 * @example
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
 * const server = await HubTestServer.start(moduleRef);
 * const client = await server.connect(ChatHub, { transport: 'LongPolling' });
 * const message = new Promise((resolve) => client.on('message', (...args) => resolve(args)));
 * await client.invoke('send', 'hi');
 * expect(await message).toEqual(['anonymous', 'hi']);
 * await server.close();
 */
export class HubTestServer {
  private readonly clients = new Set<HubConnection>();

  private constructor(
    /** The running app. */
    readonly app: INestApplication,
    /** Its base URL, e.g. `http://127.0.0.1:41234`. */
    readonly baseUrl: string,
    private readonly sockets: Set<Socket>,
  ) {}

  /**
   * Creates the app (from a module or a `TestingModule`; an app you pass is used as is), runs
   * `configure`, and listens on port 0. The server owns the app from then on: `close()` closes it.
   */
  static async start(source: HubTestServerSource, options: HubTestServerOptions = {}): Promise<HubTestServer> {
    const appOptions = options.appOptions ?? { logger: false };
    const app = isApplication(source)
      ? source
      : isTestingModule(source)
        ? source.createNestApplication(appOptions)
        : await NestFactory.create(source, appOptions);
    const sockets = new Set<Socket>();
    const server = app.getHttpServer() as import('http').Server;
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    try {
      await options.configure?.(app);
      await app.listen(0, options.host ?? '127.0.0.1');
    } catch (error) {
      await app.close();
      throw error;
    }
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return new HubTestServer(app, `http://${host}:${address.port}`, sockets);
  }

  /** The URL of a path on the app, e.g. `url('/chat')`. */
  url(path: string): string {
    return `${this.baseUrl}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /**
   * An official client of a hub (its class, or its path) on this app, started unless `start: false`.
   * A global prefix (with `useGlobalPrefix`) is not added for a class: pass the path then.
   *
   * @example
   * const json = await server.connect(ChatHub);
   * const binary = await server.connect('/chat', { transport: 'ServerSentEvents', protocol: new MessagePackHubProtocol() });
   */
  async connect(hub: Type<unknown> | string, options: HubTestConnectOptions = {}): Promise<HubConnection> {
    let path = hub;
    if (typeof path !== 'string') {
      const metadata = Reflect.getMetadata(HUB_METADATA, path) as { path?: string } | undefined;
      if (metadata?.path === undefined) throw new Error(`${path.name} is not a hub: it has no @Hub() decorator.`);
      path = metadata.path;
    }
    const token = options.accessToken;
    let builder = new HubConnectionBuilder()
      .withUrl(this.url(options.query ? `${path}?${options.query}` : path), {
        transport: TRANSPORTS[options.transport ?? 'WebSockets'],
        headers: options.headers,
        ...(token === undefined ? {} : { accessTokenFactory: typeof token === 'string' ? () => token : token }),
      })
      .configureLogging(LogLevel.None);
    if (options.protocol !== undefined) builder = builder.withHubProtocol(options.protocol);
    if (options.configure !== undefined) builder = options.configure(builder);
    const connection = builder.build();
    this.clients.add(connection);
    connection.onclose(() => this.clients.delete(connection));
    if (options.start !== false) await connection.start();
    return connection;
  }

  /** Stops every client handed out, then closes the app (graceful shutdown hooks included). */
  async close(): Promise<void> {
    await Promise.all([...this.clients].map((client) => client.stop().catch(() => undefined)));
    this.clients.clear();
    // Node counts a pooled connection that never sent a request as busy: the server's close would
    // wait for the client's keep-alive to drop it (up to 72 s on Fastify). Such a socket never reached the app.
    for (const socket of this.sockets) if (socket.bytesRead === 0) socket.destroy();
    await this.app.close();
  }
}
