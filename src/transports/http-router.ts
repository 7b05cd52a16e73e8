import type { IncomingMessage, Server, ServerResponse } from 'http';
import type { Duplex } from 'stream';
import { rejectUpgrade } from './http-responses.js';

/** What the router serves at a path: a hub's endpoint or a connection handler's. */
export interface RoutedEndpoint {
  handleRequest(req: IncomingMessage, res: ServerResponse, isNegotiate: boolean): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** `{path}/refresh` (authentication refresh); null when the endpoint does not serve it, so the path stays the app's. */
  readonly handleRefresh?: ((req: IncomingMessage, res: ServerResponse) => void) | null;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

const NEGOTIATE_SUFFIX = '/negotiate';
export const REFRESH_SUFFIX = '/refresh';

/** A request URL's path as endpoints are matched: lower case, without the query or a trailing slash. */
export function routedPath(url: string): string {
  const queryStart = url.indexOf('?');
  const path = (queryStart === -1 ? url : url.slice(0, queryStart)).toLowerCase();
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * Serves hub paths on the app's own HTTP server and leaves every other path to whoever listened
 * before (the Express or Fastify app, a Nest ws or socket.io gateway). It sits in front of the
 * existing 'request' and 'upgrade' listeners instead of beside them, so a gateway adapter that
 * destroys upgrades it does not own never sees a hub's upgrade.
 */
export class HubHttpRouter {
  private readonly endpoints = new Map<string, RoutedEndpoint>();
  private server: Server | null = null;
  private requestListeners: RequestListener[] = [];
  private upgradeListeners: UpgradeListener[] = [];
  private readonly onRequest: RequestListener = (req, res) => this.routeRequest(req, res);
  private readonly onUpgrade: UpgradeListener = (req, socket, head) => this.routeUpgrade(req, socket, head);

  /** Routes `path` (matched case-insensitively, as ASP.NET Core does) to an endpoint. */
  add(path: string, endpoint: RoutedEndpoint): void {
    this.endpoints.set(path.toLowerCase(), endpoint);
  }

  attach(server: Server): void {
    this.server = server;
    this.requestListeners = server.listeners('request') as RequestListener[];
    this.upgradeListeners = server.listeners('upgrade') as UpgradeListener[];
    server.removeAllListeners('request');
    server.removeAllListeners('upgrade');
    server.on('request', this.onRequest);
    server.on('upgrade', this.onUpgrade);
  }

  /** Puts the server's listeners back as they were. */
  detach(): void {
    const server = this.server;
    if (server === null) return;
    server.removeListener('request', this.onRequest);
    server.removeListener('upgrade', this.onUpgrade);
    for (const listener of this.requestListeners) server.on('request', listener);
    for (const listener of this.upgradeListeners) server.on('upgrade', listener);
    this.server = null;
  }

  private routeRequest(req: IncomingMessage, res: ServerResponse): void {
    const match = this.match(req.url);
    if (match !== null) {
      if (match.kind === 'refresh') match.endpoint.handleRefresh!(req, res);
      else match.endpoint.handleRequest(req, res, match.kind === 'negotiate');
      return;
    }
    for (const listener of this.requestListeners) listener.call(this.server, req, res);
  }

  private routeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const match = this.match(req.url);
    if (match !== null && match.kind === 'hub') {
      match.endpoint.handleUpgrade(req, socket, head);
      return;
    }
    if (this.upgradeListeners.length === 0) {
      // Nobody else handles upgrades here; answer instead of leaving the socket hanging.
      rejectUpgrade(socket, 404);
      return;
    }
    for (const listener of this.upgradeListeners) listener.call(this.server, req, socket, head);
  }

  private match(url: string | undefined): { endpoint: RoutedEndpoint; kind: 'hub' | 'negotiate' | 'refresh' } | null {
    if (url === undefined) return null;
    const path = routedPath(url);
    const endpoint = this.endpoints.get(path);
    if (endpoint !== undefined) return { endpoint, kind: 'hub' };
    if (path.endsWith(NEGOTIATE_SUFFIX)) {
      const hub = this.endpoints.get(path.slice(0, -NEGOTIATE_SUFFIX.length));
      if (hub !== undefined) return { endpoint: hub, kind: 'negotiate' };
    }
    if (path.endsWith(REFRESH_SUFFIX)) {
      const hub = this.endpoints.get(path.slice(0, -REFRESH_SUFFIX.length));
      if (hub?.handleRefresh) return { endpoint: hub, kind: 'refresh' };
    }
    return null;
  }
}
