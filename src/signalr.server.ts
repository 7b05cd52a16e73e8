import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'http';
import { ConnectionScope } from './clients/connection-scope.js';
import { ConnectionHandlerExplorer, type ConnectionHandlerDescriptor } from './connection-handlers/connection-handler-explorer.js';
import { RawConnectionEndpoint } from './connection-handlers/raw-connection-endpoint.js';
import { HubConnectionHandler } from './connection/hub-connection-handler.js';
import type { HubConnection } from './connection/hub-connection.js';
import type { ConnectionTransport, TransportEvents } from './connection/connection-transport.js';
import type { ConnectionBridge } from './interfaces/connection-bridge.interface.js';
import type { ConnectionStartClaims } from './interfaces/connection-start-claims.interface.js';
import type { HubRequest } from './interfaces/hub-request.interface.js';
import { KeepAliveTicker } from './connection/keep-alive.js';
import { reachableFirst } from './lifetime/reachable-first.js';
import type { HubDescriptor } from './hub/hub-descriptor.js';
import { HubDispatcher } from './hub/hub-dispatcher.js';
import { HubExplorer, normalizeHubPath } from './hub/hub-explorer.js';
import { HubInvokerFactory } from './hub/hub-invoker.factory.js';
import type { HubOptions, ResolvedHubOptions, SignalRModuleOptions } from './interfaces/signalr-options.interface.js';
import { forwardFastifyBindings } from './platforms/fastify.js';
import { NestHttpSettings } from './platforms/nest-http-settings.js';
import { DEFAULT_HUB_OPTIONS, DEFAULT_SHUTDOWN_TIMEOUT } from './signalr.constants.js';
import { logEvent } from './logging/log-event.js';
import { LogTexts } from './signalr.messages.js';
import { SIGNALR_MODULE_OPTIONS } from './signalr.module-definition.js';
import { SignalRHubRegistry } from './signalr.registry.js';
import { CarryingBudget } from './transports/carried-requests.js';
import { ConnectionRegistry } from './transports/connection-registry.js';
import type { ConnectionEndpoint } from './transports/connection-endpoint.js';
import type { EndpointIdentity } from './transports/request-identity.js';
import { tokenKey } from './transports/connection-tokens.js';
import { HubEndpoint } from './transports/hub-endpoint.js';
import { HubHttpRouter } from './transports/http-router.js';
import { HubCounters, type ServedHub, type ServedHubs } from './statistics/hub-counters.js';
import { refreshTelemetry } from './observability/telemetry-state.js';

/** The sticky-sessions warning is written once per process, however many apps it runs. */
let warnedStickySessions = false;

/** Transports this build can serve; the others are left out of negotiate until they exist. */
const IMPLEMENTED_TRANSPORTS: ReadonlySet<string> = new Set(['WebSockets', 'ServerSentEvents', 'LongPolling']);

function defaultUserId(user: unknown): string | null {
  const sub = (user as { sub?: unknown } | null | undefined)?.sub;
  return typeof sub === 'string' || typeof sub === 'number' ? String(sub) : null;
}

/**
 * An endpoint's options (a hub's, or a connection handler's, which sets a subset) over the module's
 * over ASP.NET Core's defaults: resolved here once for both kinds.
 */
function resolveOptions(moduleOptions: SignalRModuleOptions, own: HubOptions): ResolvedHubOptions {
  const resolved: Record<string, unknown> = { ...DEFAULT_HUB_OPTIONS };
  for (const source of [moduleOptions, own] as Record<string, unknown>[]) {
    for (const key of Object.keys(DEFAULT_HUB_OPTIONS)) if (source[key] !== undefined) resolved[key] = source[key];
  }
  return resolved as ResolvedHubOptions;
}

/**
 * Brings the hubs to life: discovers them when the module initialises (so mistakes fail the
 * bootstrap), serves them once the app is bootstrapped, and closes their connections on shutdown.
 */
@Injectable()
export class SignalRServer implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, ServedHubs {
  private readonly logger = new Logger('SignalR');
  /** Every connection by token, hub and raw alike; a negotiated one that never gets a transport is closed and dropped. */
  private readonly connections = new ConnectionRegistry(
    (connection) => connection.options.disconnectTimeout,
    (connection) => connection.markClosed(),
  );
  private readonly router = new HubHttpRouter();
  /** Hub endpoints and connection handler endpoints: one shutdown path for both. */
  private readonly endpoints: ConnectionEndpoint[] = [];
  /** The hubs served, in the order they were mapped. */
  readonly served: ServedHub[] = [];
  /** True from the moment hub paths are routed until shutdown. */
  serving = false;
  /** Each served hub class's endpoint, for connections opened without HTTP (`open`). */
  private readonly endpointOf = new Map<Function, HubEndpoint>();
  /** Who waits for the end of a connection started by `open` (its onDisconnected done). */
  private readonly endWatchers = new WeakMap<HubConnection, () => void>();
  private hubs: HubDescriptor[] = [];
  /** The backplane's start claims, shared by every endpoint (see `startClaims`). */
  private claims: ConnectionStartClaims | null = null;
  /** The backplane's connection bridge, shared by every hub endpoint (see `connectionBridge`). */
  private bridge: ConnectionBridge | null = null;
  /** `@ConnectionHandler()` providers: raw connections without the hub protocol. */
  private connectionHandlers: ConnectionHandlerDescriptor[] = [];
  /** One timer for every connection's timeouts, pings and long polls, hub and raw alike. */
  private ticker: KeepAliveTicker | null = null;
  /** `app.enableCors()` and `app.use()`, seen as the app calls them, for hub paths to follow or warn about. */
  private readonly nestHttp: NestHttpSettings;

  constructor(
    @Inject(SIGNALR_MODULE_OPTIONS) private readonly options: SignalRModuleOptions,
    private readonly explorer: HubExplorer,
    private readonly registry: SignalRHubRegistry,
    private readonly adapterHost: HttpAdapterHost,
    private readonly appConfig: ApplicationConfig,
    private readonly invokers: HubInvokerFactory,
    private readonly connectionHandlerExplorer: ConnectionHandlerExplorer,
  ) {
    this.nestHttp = new NestHttpSettings(adapterHost);
  }

  onModuleInit(): void {
    // A secret too short to key an HMAC fails the bootstrap, not the first connection from another instance.
    if (this.options.connectionTokenSecret !== undefined) tokenKey(this.options.connectionTokenSecret);
    refreshTelemetry();
    const providers = this.explorer.providers();
    this.hubs = this.explorer.explore(providers);
    this.connectionHandlers = this.connectionHandlerExplorer.explore(providers, this.hubs);
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) {
      if (this.hubs.length > 0 || this.connectionHandlers.length > 0) this.logger.warn(LogTexts.noHttpServer);
      return;
    }
    const served = new Set(this.hubs.map((hub) => hub.metatype));
    for (const hub of this.registry.contextHubs()) if (!served.has(hub)) this.logger.warn(LogTexts.hubNotProvided(hub.name));

    const intervals: number[] = [];
    for (const hub of this.hubs) {
      const options = resolveOptions(this.options, hub.options);
      options.cors = this.nestHttp.corsFor(options.cors, this.options, hub.options);
      intervals.push(options.keepAliveInterval, options.clientTimeoutInterval, options.handshakeTimeout, options.sendBufferTimeout);
      const path = this.routePath(hub.path);
      this.router.add(path, this.serve(hub, path, options));
      this.logger.log(`Mapped hub ${hub.name} at ${path}`);
    }
    const identity = this.identity();
    for (const handler of this.connectionHandlers) {
      const options = resolveOptions(this.options, handler.metadata.options);
      options.cors = this.nestHttp.corsFor(options.cors, this.options, handler.metadata.options);
      // Raw connections have no pings: the tick serves their long polls and negotiated connections.
      intervals.push(options.pollTimeout, options.disconnectTimeout);
      const path = this.routePath(handler.path);
      const endpoint = new RawConnectionEndpoint(
        path,
        handler.name,
        handler.instance,
        options,
        identity,
        this.connections,
        this.options.connectionTokenSecret ?? null,
        this.startClaims(),
      );
      this.endpoints.push(endpoint);
      this.router.add(path, endpoint);
      this.logger.log(`Mapped connection handler ${handler.name} at ${path}`);
    }
    if (this.endpoints.length === 0) return;
    this.warnWhenStickySessionsNeeded();
    // Issue 18: without affinity, SSE and long-polling requests reach the instance that holds their connection over the backplane.
    const relay = this.options.connectionTokenSecret !== undefined ? (this.options.backplane?.connectionRelay?.() ?? null) : null;
    if (relay !== null) {
      const budget = new CarryingBudget(relay.limits);
      for (const endpoint of this.endpoints) endpoint.carryThrough(relay, budget);
    }
    const paths = [...this.hubs, ...this.connectionHandlers].map((served) => this.routePath(served.path));
    this.nestHttp.report(paths, this.appConfig.getGlobalPrefix(), this.options.useGlobalPrefix);
    this.ticker = new KeepAliveTicker(KeepAliveTicker.tickFor(intervals));
    this.ticker.add(this.connections);
    for (const endpoint of this.endpoints) this.ticker.add(endpoint);
    this.router.attach(server);
    forwardFastifyBindings(this.adapterHost.httpAdapter, server);
    this.serving = true;
  }

  /**
   * Graceful shutdown, before Nest closes the HTTP server (which stays the app's to close): hub paths
   * keep being served, but new connections get 503; running invocations may finish within
   * `shutdownTimeout`; then every connection gets a Close that lets its client reconnect elsewhere,
   * and onDisconnected hooks are awaited (bounded by the same timeout). Then the router steps aside.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.serving = false;
    for (const endpoint of this.endpoints) endpoint.draining = true;
    const timeout = this.options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
    await Promise.all(this.endpoints.map((endpoint) => endpoint.shutdown(timeout)));
    this.ticker?.stop();
    for (const endpoint of this.endpoints) endpoint.close();
    // A long poll outstanding at close got the Close. A long-polling client between two polls has it
    // queued; its connection is dropped now rather than kept for that poll (up to the disconnect timeout).
    this.connections.clear();
    this.router.detach();
    // After every connection left (their presence and subscriptions with them): the backplane's Redis connections close.
    await this.registry.close();
  }

  /** True once shutdown began: new connections are refused with 503. */
  get draining(): boolean {
    return this.endpoints.some((endpoint) => endpoint.draining);
  }

  /** Live counts, for leak checks: connections by token (negotiated included) and running connections, raw ones included. */
  stats(): { registered: number; running: number } {
    let running = 0;
    for (const endpoint of this.endpoints) running += endpoint.running;
    return { registered: this.connections.size, running };
  }

  /**
   * Starts a connection to `hub` on a transport the caller made (nestjs-signalr/testing): no HTTP,
   * the same connection loop, dispatcher and lifetime manager. Null when the hub is not served here
   * (not a provider, no HTTP server, app not initialised) or shutdown began.
   */
  open(
    hub: Function,
    transport: ConnectionTransport,
    request: HubRequest,
    user: unknown,
    onEnded?: () => void,
  ): { connection: HubConnection; events: TransportEvents<HubConnection> } | null {
    const endpoint = this.endpointOf.get(hub);
    if (endpoint === undefined || endpoint.draining) return null;
    const opened = endpoint.open(transport, request, user);
    if (onEnded !== undefined) this.endWatchers.set(opened.connection, onEnded);
    return opened;
  }

  private serve(hub: HubDescriptor, path: string, options: ResolvedHubOptions): HubEndpoint {
    const lifetime = this.registry.lifetimeFor(hub.metatype);
    const groups = this.registry.groupsFor(hub.metatype);
    const dispatcher = new HubDispatcher(hub, (connection) => new ConnectionScope(connection, lifetime, groups), this.invokers);
    const protocols = new Map([...this.registry.protocols].filter(([name]) => (options.protocols as readonly string[]).includes(name)));
    const counters = new HubCounters();
    const handler = new HubConnectionHandler(
      reachableFirst(dispatcher, lifetime),
      counters.counting(lifetime),
      protocols,
      (connection) => this.ended(connection),
      hub.name,
    );
    this.served.push({ metatype: hub.metatype, name: hub.name, path, counters, lifetime });
    const endpoint = new HubEndpoint(
      path,
      options,
      handler,
      this.connections,
      this.identity(),
      options.transports.filter((transport) => IMPLEMENTED_TRANSPORTS.has(transport)),
      this.options.connectionTokenSecret ?? null,
      this.startClaims(),
      this.connectionBridge(),
    );
    this.endpoints.push(endpoint);
    this.endpointOf.set(hub.metatype, endpoint);
    return endpoint;
  }

  private ended(connection: HubConnection): void {
    this.connections.release(connection);
    this.endWatchers.get(connection)?.();
  }

  /**
   * Once per cluster: with a secret, a token may start its connection on any instance, so those on
   * one backplane claim each start there. Without a secret negotiate records the connection on one
   * instance, and without a backplane there is one instance: nothing to claim.
   */
  private startClaims(): ConnectionStartClaims | null {
    if (this.options.connectionTokenSecret === undefined) return null;
    return (this.claims ??= this.options.backplane?.startClaims?.() ?? null);
  }

  /** Stateful re-attaches across instances: only signed tokens name a connection any instance can find. */
  private connectionBridge(): ConnectionBridge | null {
    if (this.options.connectionTokenSecret === undefined) return null;
    return (this.bridge ??= this.options.backplane?.connectionBridge?.() ?? null);
  }

  /**
   * Without a secret, negotiate records its connection on the instance that answered it only: once
   * the backplane shows another instance, a balancer without affinity would send the transport's
   * requests where that connection is unknown (404). Said once, when it becomes true.
   */
  private warnWhenStickySessionsNeeded(): void {
    if (this.options.connectionTokenSecret !== undefined) return;
    this.options.backplane?.onOtherInstance?.(() => {
      if (warnedStickySessions) return;
      warnedStickySessions = true;
      this.logger.warn(logEvent('StickySessionsNeeded', LogTexts.stickySessionsNeeded));
    });
  }

  private identity(): EndpointIdentity {
    return { authenticate: this.options.authenticate, userIdProvider: this.options.userIdProvider ?? defaultUserId };
  }

  private routePath(hubPath: string): string {
    if (!this.options.useGlobalPrefix) return hubPath;
    const prefix = this.appConfig.getGlobalPrefix();
    return prefix ? normalizeHubPath(`${normalizeHubPath(prefix)}${hubPath}`) : hubPath;
  }
}
