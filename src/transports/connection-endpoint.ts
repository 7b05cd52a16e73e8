import type { IncomingMessage, ServerResponse } from 'http';
import type { Duplex } from 'stream';
import { WebSocket, WebSocketServer } from 'ws';
import { CorsPolicy, type HubCorsOptions } from '../auth/cors-policy.js';
import type { ConnectionRunner } from '../connection/connection-runner.js';
import type { ConnectionTransport, TransportName } from '../connection/connection-transport.js';
import type { Sweepable } from '../connection/keep-alive.js';
import type { TransportConnection } from '../connection/transport-connection.js';
import type { ConnectionStartClaims } from '../interfaces/connection-start-claims.interface.js';
import type { ConnectionRelay } from '../interfaces/connection-relay.interface.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import { HttpTexts } from '../signalr.messages.js';
import { type CarryingBudget, CarriedRequests } from './carried-requests.js';
import { ConnectionOwners, type ConnectionOwner } from './connection-owners.js';
import { type ConnectionRegistry, newConnectionIds } from './connection-registry.js';
import type { ConnectionTokenClaims } from './connection-tokens.js';
import { logRequestFailed } from './endpoint-logs.js';
import { rejectUpgrade, sendJson, sendText } from './http-responses.js';
import { toHubRequest } from './incoming-hub-request.js';
import type { RoutedEndpoint } from './http-router.js';
import { HttpTransportRequests } from './http-transport-requests.js';
import { negotiateResponse, readNegotiateVersion } from './negotiate.js';
import { type EndpointIdentity, identifyRequest, REFUSED } from './request-identity.js';
import { SignedStarts } from './signed-starts.js';
import { WebSocketTransport } from './websocket.transport.js';

/** The settings an endpoint's HTTP surface depends on. */
export interface EndpointSettings {
  readonly transports: readonly TransportName[];
  readonly cors: HubCorsOptions | null;
  readonly requireAuthentication: boolean;
  /** `ws`'s limit on one frame (the connection loop may apply finer limits of its own). */
  readonly maxFrameSize: number;
  /** How long a negotiated connection waits for its transport: also how long a signed token may start its connection. */
  readonly disconnectTimeout: number;
  /** How long a poll is held: a carried poll waits for its owner that long and then some. */
  readonly pollTimeout: number;
  /** The module's `connectionTokenSecret`: negotiate keeps no record and signs the token; null: random tokens, recorded. */
  readonly connectionTokenSecret: string | Buffer | null;
  /** With a secret and a backplane: who else started a signed token's connection (once per cluster); null otherwise. */
  readonly startClaims: ConnectionStartClaims | null;
}

/**
 * The HTTP surface of one connection endpoint, as ASP.NET Core's HttpConnectionDispatcher: negotiate,
 * WebSocket upgrades (with or without negotiate), event streams, polls, sends and DELETE, with the
 * reference's status codes, over transport connections kept in the shared registry. What runs on a
 * connection is its runner's part (the hub connection loop, or a raw connection handler's runner);
 * what a connection is, who claims it and how a POST's body is read, the subclass's.
 */
export abstract class ConnectionEndpoint<C extends TransportConnection = TransportConnection> implements RoutedEndpoint, Sweepable {
  protected readonly wss: WebSocketServer;
  /** Whether a payload sent to many WebSockets may share one frame (see WebSocketTransport). */
  protected readonly sharesFrames: boolean = false;
  /** Browser origins allowed; null when the endpoint has no origin checks. */
  protected readonly cors: CorsPolicy | null;
  /** Which user each connection belongs to: later requests by anyone else are refused (403). */
  private readonly owners: ConnectionOwners<C>;
  /** Signed tokens when instances share a secret (any instance's may start a connection here); null otherwise. */
  private readonly signed: SignedStarts<C> | null;
  /** Carries requests for connections held elsewhere, and serves those carried here (with a backplane and a secret). */
  private carrier: CarriedRequests | null = null;
  /** Event streams, polls, sends and DELETE (http-transport-requests.ts). */
  private readonly httpTransports: HttpTransportRequests<C>;
  /**
   * Set when shutdown begins: negotiate and requests that would start a transport get 503, while
   * the requests of running connections (sends, polls, DELETE) are still served until they close.
   */
  draining = false;

  constructor(
    readonly path: string,
    private readonly settings: EndpointSettings,
    protected readonly identity: EndpointIdentity,
    /** What runs on the connections; transports report to it what they receive and their end. */
    private readonly runner: ConnectionRunner<C>,
    /** Every endpoint's connections by token; a token is only valid at the endpoint that made it. */
    protected readonly registry: ConnectionRegistry,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: settings.maxFrameSize,
      // Text is checked by whoever reads it, with the protocol's error instead of a 1007 close.
      skipUTF8Validation: true,
    });
    this.cors = settings.cors ? new CorsPolicy(settings.cors) : null;
    this.owners = new ConnectionOwners(identity.userIdProvider);
    this.signed =
      settings.connectionTokenSecret === null
        ? null
        : new SignedStarts<C>(settings.connectionTokenSecret, path, settings.disconnectTimeout, settings.startClaims, {
            find: (token) => this.find(token),
            make: (token, claims, owner) => this.make(token, claims, owner),
            refuseForeign: (connectionId, owner) => this.owners.refuseForeign(connectionId, owner),
          });
    this.httpTransports = new HttpTransportRequests<C>({
      transports: settings.transports,
      owners: this.owners,
      signed: this.signed,
      events: runner,
      draining: () => this.draining,
      carrier: () => this.carrier,
      find: (token) => this.find(token),
      identify: (request) => this.identify(request),
      refusal: (request, connection) => this.refusal(request, connection),
      receiveBody: (req, connection) => this.receiveBody(req, connection),
      abandon: (connection) => this.abandon(connection),
      claim: (connection, user) => this.claim(connection, user),
      start: (connection, transport, request) => this.start(connection, transport, request),
    });
  }

  /**
   * Requests of connections held by other instances are carried to them over `relay` (issue 18),
   * within `budget`, the instance's (shared by its endpoints); needs a secret.
   */
  carryThrough(relay: ConnectionRelay, budget: CarryingBudget): void {
    if (this.signed === null) return;
    this.carrier = new CarriedRequests(relay, budget, this.settings.pollTimeout, (req, res) => this.replayCarried(req, res));
  }

  /** A request another instance carried here: run as if it had reached this instance (hubs also take their refreshes). */
  protected replayCarried(req: IncomingMessage, res: ServerResponse): void {
    this.httpTransports.handle(req, res, true).catch((error: unknown) => this.failed(`a ${req.method} request carried from another instance`, res, error));
  }

  /** Carries requests for connections held elsewhere, once carrying is on (a secret and a backplane's relay); null otherwise. */
  protected get carrying(): CarriedRequests | null {
    return this.carrier;
  }

  /**
   * Whether a WebSocket connection is reachable from other instances too (hubs with authentication
   * refresh, whose `/refresh` may land anywhere). Off, a WebSocket costs Redis nothing per connection.
   */
  protected servesCarriedToWebSockets(): boolean {
    return false;
  }

  /** A new connection of this endpoint's kind; `statefulRequested`: negotiate granted stateful reconnect. */
  protected abstract newConnection(connectionId: string, connectionToken: string, statefulRequested: boolean): C;
  /** The request that starts a transport decided who the user is: the connection leaves 'negotiated'. */
  protected abstract claim(connection: C, user: unknown): void;
  /** A POST's body for a connection on SSE or long polling; throws InvalidDataError (413) when too large. */
  protected abstract receiveBody(req: IncomingMessage, connection: C): Promise<void>;

  /** The transport started: the connection's life begins, run by the runner. */
  protected start(connection: C, transport: ConnectionTransport, request: HubRequest): void {
    this.runner.run(connection, transport, request);
  }

  /** The connections' timers, on the shared tick (KeepAliveTicker). */
  sweep(now: number): void {
    this.runner.sweep(now);
    this.carrier?.sweep((connection) => connection.state === 'closed' && this.registry.get(connection.connectionToken) !== connection);
  }

  /** Connections whose life runs (for leak checks). */
  get running(): number {
    return this.runner.connectionCount;
  }

  /** Shutdown: new connections get 503 from now on, and the running ones end (ConnectionRunner.closeAll). */
  shutdown(timeout: number): Promise<void> {
    this.draining = true;
    return this.runner.closeAll(timeout);
  }

  /** The connection a token names, if it is still known and belongs here. */
  protected find(token: string): C | undefined {
    const connection = this.registry.get(token);
    return connection !== undefined && connection.path === this.path ? (connection as C) : undefined;
  }

  /** Whether negotiate grants the stateful reconnect its client asks for (hubs only). */
  protected grantsStatefulReconnect(_negotiate: HubRequest): boolean {
    return false;
  }

  /**
   * A new registered connection (negotiate version 0 uses the id as the token); `negotiate` is null
   * when the client skipped negotiation.
   */
  protected create(negotiateVersion: number, negotiate: HubRequest | null): C {
    const { connectionId, connectionToken } = newConnectionIds(negotiateVersion);
    return this.registry.add(this.newConnection(connectionId, connectionToken, negotiate !== null && this.grantsStatefulReconnect(negotiate)));
  }

  /** The registered connection of a signed token that starts here. */
  private make(token: string, claims: ConnectionTokenClaims, owner: ConnectionOwner): C {
    const connection = this.registry.add(this.newConnection(claims.connectionId, token, claims.stateful));
    this.owners.admits(connection, owner);
    return connection;
  }

  /** A connection whose transport never started: its upgrade socket went away, or shutdown cut short the start of its HTTP transport. */
  private abandon(connection: C): void {
    connection.markClosed();
    this.registry.remove(connection);
  }

  /** A signed token's claims when its connection may be held by another instance that would take this upgrade (hubs' stateful re-attach). */
  protected heldElsewhere(_token: string): ConnectionTokenClaims | null {
    return null;
  }

  /** A WebSocket whose signed token names a connection this instance does not hold, for the user it binds: 404 (hubs may bridge it). */
  protected upgradeElsewhere(
    _req: IncomingMessage,
    socket: Duplex,
    _head: Buffer,
    _claims: ConnectionTokenClaims,
    _owner: ConnectionOwner,
  ): void | Promise<void> {
    rejectUpgrade(socket, 404, HttpTexts.connectionNotFound);
  }

  /** The token's claims if this endpoint signed it, whatever its age (null without a secret). */
  protected readToken(token: string): ConnectionTokenClaims | null {
    return this.signed?.read(token) ?? null;
  }

  /** Whether `owner` is the connection's user (a refusal is logged), for a request another instance carried here. */
  protected admitsOwner(connection: C, owner: ConnectionOwner): boolean {
    return this.owners.admits(connection, owner);
  }

  /** A WebSocket for a connection that already has a transport: refused (hubs may re-attach instead). */
  protected upgradeTaken(_req: IncomingMessage, socket: Duplex, _head: Buffer, _request: HubRequest, connection: C): void | Promise<void> {
    this.rejectTaken(connection, socket);
  }

  /** Requests on `{path}/negotiate` and on `{path}` that are not upgrades. */
  handleRequest(req: IncomingMessage, res: ServerResponse, isNegotiate: boolean): void {
    // A refused origin (403) or a preflight (204) is answered by the CORS policy; others get its headers.
    if (this.cors !== null && this.cors.handleRequest(req, res)) return;
    const work = isNegotiate ? this.negotiate(req, res) : this.httpTransports.handle(req, res);
    work.catch((error: unknown) => this.failed(isNegotiate ? 'negotiate' : `a ${req.method} request`, res, error));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.cors !== null && !this.cors.allowsUpgrade(req)) return rejectUpgrade(socket, 403);
    this.upgrade(req, socket, head).catch((error: unknown) => {
      logRequestFailed('a WebSocket upgrade', this.path, error, false);
      rejectUpgrade(socket, 500);
    });
  }

  /** A request an exception ended (a throwing userIdProvider, say): 500, or a response already begun cut off; logged once. */
  protected failed(what: string, res: ServerResponse, error: unknown): void {
    logRequestFailed(what, this.path, error, res.headersSent);
    if (!res.headersSent) sendText(res, 500);
    else res.destroy();
  }

  close(): void {
    this.wss.close();
  }

  private async negotiate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendText(res, 405);
    if (this.draining) return sendText(res, 503, HttpTexts.shuttingDown);
    const request = toHubRequest(req);
    const version = readNegotiateVersion(request.query);
    if ('error' in version) return sendJson(res, 200, JSON.stringify({ error: version.error }));
    const user = await this.identify(request);
    if (user === REFUSED) return sendText(res, 401);
    const owner = this.owners.of(user);
    if (this.signed !== null) {
      // A shared secret: negotiate keeps nothing, and the transport may reach any instance (issue 18).
      const statefulRequested = this.grantsStatefulReconnect(request);
      const ids = this.signed.issue(version.version, owner, statefulRequested);
      return sendJson(res, 200, negotiateResponse(version.version, { ...ids, statefulRequested }, this.settings.transports, this.tokenLifetime(user)));
    }
    const connection = this.create(version.version, request);
    this.owners.admits(connection, owner);
    sendJson(res, 200, negotiateResponse(version.version, connection, this.settings.transports, this.tokenLifetime(user)));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.draining) return rejectUpgrade(socket, 503, HttpTexts.shuttingDown);
    const request = toHubRequest(req);
    const token = request.query.get('id');
    let existing = token === null ? undefined : this.find(token);
    // A token that names no connection here may be a signed one whose connection is not made yet (checked without Redis).
    const signed = token !== null && existing === undefined ? (this.signed?.admit(token) ?? null) : null;
    // Or one that can no longer start a connection here, whose connection another instance may hold (a stateful re-attach).
    const elsewhere = token !== null && existing === undefined && signed === null ? this.heldElsewhere(token) : null;
    if (token !== null && existing === undefined && signed === null && elsewhere === null) return rejectUpgrade(socket, 404, HttpTexts.connectionNotFound);
    if (!this.settings.transports.includes('WebSockets')) return rejectUpgrade(socket, 404, HttpTexts.transportNotSupported('WebSockets'));
    if (existing !== undefined && existing.state !== 'negotiated') return this.upgradeTaken(req, socket, head, request, existing);

    const user = await this.identify(request);
    if (user === REFUSED) return rejectUpgrade(socket, 401);
    if (this.draining) return rejectUpgrade(socket, 503, HttpTexts.shuttingDown);
    const owner = this.owners.of(user);
    if (elsewhere !== null) {
      if (this.signed!.bound(elsewhere, owner)) return this.upgradeElsewhere(req, socket, head, elsewhere, owner);
      return rejectUpgrade(socket, 403);
    }
    if (signed !== null) {
      const adopted = await this.signed!.adopt(token!, signed, owner);
      if (adopted === 403) return rejectUpgrade(socket, 403);
      // Another instance started it: with stateful reconnect, this may be its client's re-attach.
      if (adopted === 404) return this.upgradeElsewhere(req, socket, head, signed, owner);
      // The cluster's claim took a round trip: shutdown may have begun, or the client gone, meanwhile.
      if (adopted.state === 'negotiated' && (this.draining || socket.destroyed)) {
        this.abandon(adopted);
        return rejectUpgrade(socket, 503, HttpTexts.shuttingDown);
      }
      existing = adopted;
    }
    // Without an id the client skipped negotiation: the connection starts here (negotiate version 0).
    const connection = existing ?? this.create(0, null);
    if (connection.state !== 'negotiated') return this.rejectTaken(connection, socket);
    if (!this.owners.admits(connection, owner)) return rejectUpgrade(socket, 403);
    if (signed !== null && this.carrier !== null && this.servesCarriedToWebSockets()) {
      // As an HTTP transport's start: other instances reach it before its client is answered. Released by `sweep` once it is gone.
      await this.carrier.own(connection);
      if (connection.state !== 'negotiated') return this.rejectTaken(connection, socket);
      if (this.draining || socket.destroyed) {
        this.abandon(connection);
        return rejectUpgrade(socket, 503, HttpTexts.shuttingDown);
      }
    }
    this.claim(connection, user);
    // A socket that goes away during the upgrade never reaches the callback: its connection goes too.
    // Removed once upgraded, as it would otherwise stay on the socket (~300 B) for the connection's life.
    const abandoned = () => this.abandon(connection);
    socket.once('close', abandoned);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.removeListener('close', abandoned);
      this.start(connection, this.webSocketTransport(ws, connection, socket), request);
    });
  }

  /** A WebSocket transport for `connection` on `ws`. */
  protected webSocketTransport(ws: WebSocket, connection: C, socket: Duplex): WebSocketTransport<C> {
    return new WebSocketTransport(ws, connection, this.runner, socket, this.sharesFrames);
  }

  /** A connection that already has a transport: a different kind is refused with 400, a second socket with 409. */
  protected rejectTaken(connection: C, socket: Duplex): void {
    const current = connection.transport?.name;
    if (current !== undefined && current !== 'WebSockets') rejectUpgrade(socket, 400, HttpTexts.cannotChangeTransport);
    else rejectUpgrade(socket, 409);
  }

  /** A later request on a connection: 401 when authentication fails, 403 when it is not the connection's user, else 0. */
  protected async refusal(request: HubRequest, connection: C): Promise<0 | 401 | 403> {
    const user = await this.identify(request);
    if (user === REFUSED) return 401;
    return this.owners.admits(connection, this.owners.of(user)) ? 0 : 403;
  }

  /** The owner a user would be (ConnectionOwners.of). */
  protected ownerOf(user: unknown): ConnectionOwner {
    return this.owners.of(user);
  }

  /** What negotiate reports as the user's token lifetime (hubs with authentication refresh); undefined: nothing. */
  protected tokenLifetime(_user: unknown): number | undefined {
    return undefined;
  }

  /** The user for this request, undefined when anonymous, or REFUSED (request-identity.ts). */
  protected identify(request: HubRequest): Promise<unknown> {
    return identifyRequest(this.identity, request, this.settings.requireAuthentication, this.path);
  }
}
