import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleInit,
} from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'http';
import { ConnectionScope } from './clients/connection-scope.js';
import { HubConnectionHandler } from './connection/hub-connection-handler.js';
import { KeepAliveTicker } from './connection/keep-alive.js';
import type { HubDescriptor } from './hub/hub-descriptor.js';
import { HubDispatcher } from './hub/hub-dispatcher.js';
import { HubExplorer, normalizeHubPath } from './hub/hub-explorer.js';
import { HubInvokerFactory } from './hub/hub-invoker.factory.js';
import type { ResolvedHubOptions, SignalRModuleOptions } from './interfaces/signalr-options.interface.js';
import { forwardFastifyBindings } from './platforms/fastify.js';
import { MessageType } from './protocol/hub-messages.js';
import type { HubProtocol } from './protocol/hub-protocol.js';
import { JsonHubProtocol } from './protocol/json-hub-protocol.js';
import { MessagePackHubProtocol } from './protocol/messagepack-hub-protocol.js';
import { DEFAULT_HUB_OPTIONS, DEFAULT_SHUTDOWN_TIMEOUT } from './signalr.constants.js';
import { LogTexts } from './signalr.messages.js';
import { SIGNALR_MODULE_OPTIONS } from './signalr.module-definition.js';
import { SignalRHubRegistry } from './signalr.registry.js';
import { ConnectionRegistry } from './transports/connection-registry.js';
import { HubEndpoint } from './transports/hub-endpoint.js';
import { HubHttpRouter } from './transports/http-router.js';

/** Transports this build can serve; the others are left out of negotiate until they exist. */
const IMPLEMENTED_TRANSPORTS: ReadonlySet<string> = new Set(['WebSockets', 'ServerSentEvents', 'LongPolling']);

function defaultUserId(user: unknown): string | null {
  const sub = (user as { sub?: unknown } | null | undefined)?.sub;
  return typeof sub === 'string' || typeof sub === 'number' ? String(sub) : null;
}

function resolveOptions(moduleOptions: SignalRModuleOptions, hub: HubDescriptor): ResolvedHubOptions {
  const resolved: Record<string, unknown> = { ...DEFAULT_HUB_OPTIONS };
  for (const source of [moduleOptions, hub.options] as Record<string, unknown>[]) {
    for (const key of Object.keys(DEFAULT_HUB_OPTIONS)) if (source[key] !== undefined) resolved[key] = source[key];
  }
  return resolved as ResolvedHubOptions;
}

/**
 * Brings the hubs to life: discovers them when the module initialises (so mistakes fail the
 * bootstrap), serves them once the app is bootstrapped, and closes their connections on shutdown.
 */
@Injectable()
export class SignalRServer implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SignalR');
  private readonly connections = new ConnectionRegistry();
  private readonly router = new HubHttpRouter();
  private readonly handlers: HubConnectionHandler[] = [];
  private readonly endpoints: HubEndpoint[] = [];
  private readonly protocols: ReadonlyMap<string, HubProtocol> = new Map<string, HubProtocol>([['json', new JsonHubProtocol()], ['messagepack', new MessagePackHubProtocol()]]);
  private hubs: HubDescriptor[] = [];
  private ticker: KeepAliveTicker | null = null;

  constructor(
    @Inject(SIGNALR_MODULE_OPTIONS) private readonly options: SignalRModuleOptions,
    private readonly explorer: HubExplorer,
    private readonly registry: SignalRHubRegistry,
    private readonly adapterHost: HttpAdapterHost,
    private readonly appConfig: ApplicationConfig,
    private readonly invokers: HubInvokerFactory,
  ) {}

  onModuleInit(): void {
    this.hubs = this.explorer.explore();
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) {
      if (this.hubs.length > 0) this.logger.warn(LogTexts.noHttpServer);
      return;
    }
    const served = new Set(this.hubs.map((hub) => hub.metatype));
    for (const hub of this.registry.contextHubs()) if (!served.has(hub)) this.logger.warn(LogTexts.hubNotProvided(hub.name));

    const intervals: number[] = [];
    for (const hub of this.hubs) {
      const options = resolveOptions(this.options, hub);
      intervals.push(options.keepAliveInterval, options.clientTimeoutInterval, options.handshakeTimeout);
      const path = this.routePath(hub.path);
      const endpoint = this.serve(hub, path, options);
      this.router.add(path, endpoint);
      this.logger.log(`Mapped hub ${hub.name} at ${path}`);
    }
    if (this.hubs.length === 0) return;
    this.ticker = new KeepAliveTicker(KeepAliveTicker.tickFor(intervals));
    this.ticker.add(this.connections);
    for (const handler of this.handlers) this.ticker.add(handler);
    this.router.attach(server);
    forwardFastifyBindings(this.adapterHost.httpAdapter, server);
  }

  /**
   * Graceful shutdown, before Nest closes the HTTP server (which stays the app's to close): hub paths
   * keep being served, but new connections get 503; running invocations may finish within
   * `shutdownTimeout`; then every connection gets a Close that lets its client reconnect elsewhere,
   * and onDisconnected hooks are awaited (bounded by the same timeout). Then the router steps aside.
   */
  async beforeApplicationShutdown(): Promise<void> {
    for (const endpoint of this.endpoints) endpoint.draining = true;
    const timeout = this.options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
    await Promise.all(this.handlers.map((handler) => handler.closeAll({ type: MessageType.Close, allowReconnect: true }, timeout)));
    this.ticker?.stop();
    for (const endpoint of this.endpoints) endpoint.close();
    // A long poll outstanding at close got the Close. A long-polling client between two polls has it
    // queued; its connection is dropped now rather than kept for that poll (up to the disconnect timeout).
    this.connections.clear();
    this.router.detach();
  }

  /** True once shutdown began: new connections are refused with 503. */
  get draining(): boolean {
    return this.endpoints.some((endpoint) => endpoint.draining);
  }

  /** Live counts, for leak checks: connections by token (negotiated included) and running connections. */
  stats(): { registered: number; running: number } {
    let running = 0;
    for (const handler of this.handlers) running += handler.connectionCount;
    return { registered: this.connections.size, running };
  }

  private serve(hub: HubDescriptor, path: string, options: ResolvedHubOptions): HubEndpoint {
    const lifetime = this.registry.lifetimeFor(hub.metatype);
    const groups = this.registry.groupsFor(hub.metatype);
    const dispatcher = new HubDispatcher(hub, (connection) => new ConnectionScope(connection, lifetime, groups), this.invokers);
    const protocols = new Map([...this.protocols].filter(([name]) => (options.protocols as readonly string[]).includes(name)));
    const handler = new HubConnectionHandler(dispatcher, lifetime, protocols, (connection) => this.connections.release(connection), hub.name);
    this.handlers.push(handler);
    const identity = { authenticate: this.options.authenticate, userIdProvider: this.options.userIdProvider ?? defaultUserId };
    const endpoint = new HubEndpoint(path, options, handler, this.connections, identity, options.transports.filter(IMPLEMENTED_TRANSPORTS.has, IMPLEMENTED_TRANSPORTS));
    this.endpoints.push(endpoint);
    return endpoint;
  }

  private routePath(hubPath: string): string {
    if (!this.options.useGlobalPrefix) return hubPath;
    const prefix = this.appConfig.getGlobalPrefix();
    return prefix ? normalizeHubPath(`${normalizeHubPath(prefix)}${hubPath}`) : hubPath;
  }
}
