import type { IncomingMessage, ServerResponse } from 'http';
import type { Duplex } from 'stream';
import { authenticationExpiresAt } from '../auth/authentication-expiry.js';
import type { ConnectionTransport, TransportEvents, TransportName } from '../connection/connection-transport.js';
import { HubConnection } from '../connection/hub-connection.js';
import type { HubConnectionHandler } from '../connection/hub-connection-handler.js';
import { enter, HUB_CONNECTION_LIFECYCLE } from '../connection/connection-lifecycle.js';
import type { ConnectionBridge } from '../interfaces/connection-bridge.interface.js';
import type { ConnectionStartClaims } from '../interfaces/connection-start-claims.interface.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import type { ResolvedHubOptions } from '../interfaces/hub-options.interface.js';
import { HttpTexts } from '../signalr.messages.js';
import { answerRefresh, type RefreshableEndpoint, tokenLifetimeSeconds } from './authentication-refresh.js';
import { attachHost, bridgeUpgrade, type AttachOwner } from './bridged-reattach.js';
import type { CarriedRequests } from './carried-requests.js';
import { ConnectionEndpoint } from './connection-endpoint.js';
import type { ConnectionOwner } from './connection-owners.js';
import type { ConnectionTokenClaims } from './connection-tokens.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { REFRESH_SUFFIX, routedPath } from './http-router.js';
import type { EndpointIdentity } from './request-identity.js';
import { rejectUpgrade } from './http-responses.js';
import { wantsStatefulReconnect } from './negotiate.js';

/**
 * How many times the message-size limit one WebSocket frame may hold before `ws` refuses it (1009).
 * The official clients batch whatever was sent while a send was in flight into one frame, so a burst
 * of small messages arrives as one large frame: the limit applies to each message in it, and the
 * frame as a whole only needs a bound on what `ws` buffers before handing it over.
 */
const FRAME_ALLOWANCE = 128;
/** The least a frame may hold whatever the message limit: 4 MiB. */
const MIN_FRAME_SIZE = 4 * 1024 * 1024;

/**
 * One hub's HTTP surface: the shared endpoint with hub connections, run by the hub connection loop.
 * Adds what only hubs have: stateful reconnect (the flag in negotiate, a new WebSocket re-attached
 * to its connection) and the user's identifier and authentication expiry.
 */
export class HubEndpoint extends ConnectionEndpoint<HubConnection> {
  /** Hub messages are never changed once serialized, so a broadcast's recipients share its frame. */
  protected override readonly sharesFrames = true;
  /** What a re-attach bridged from another instance needs of this endpoint (made on the first stateful connection). */
  private attachOwner: AttachOwner | null = null;
  /** `{path}/refresh`, served only with enableAuthenticationRefresh (see authentication-refresh.ts). */
  readonly handleRefresh: ((req: IncomingMessage, res: ServerResponse) => void) | null;

  constructor(
    path: string,
    readonly options: ResolvedHubOptions,
    private readonly handler: HubConnectionHandler,
    registry: ConnectionRegistry,
    identity: EndpointIdentity,
    transports: readonly TransportName[],
    connectionTokenSecret: string | Buffer | null = null,
    startClaims: ConnectionStartClaims | null = null,
    /** With a secret and a backplane: stateful re-attaches that land on another instance than the connection's. */
    private readonly bridge: ConnectionBridge | null = null,
  ) {
    const limit = options.maximumReceiveMessageSize;
    super(
      path,
      {
        transports,
        cors: options.cors,
        requireAuthentication: options.requireAuthentication,
        // Frames may batch several messages; the per-message limit is enforced by the connection loop.
        maxFrameSize: limit === null ? 100 * 1024 * 1024 : Math.max(limit * FRAME_ALLOWANCE, MIN_FRAME_SIZE),
        disconnectTimeout: options.disconnectTimeout,
        pollTimeout: options.pollTimeout,
        connectionTokenSecret,
        startClaims,
      },
      identity,
      handler,
      registry,
    );
    this.handleRefresh = options.enableAuthenticationRefresh ? (req, res) => this.refresh(req, res) : null;
  }

  protected newConnection(connectionId: string, connectionToken: string, statefulRequested: boolean): HubConnection {
    const connection = new HubConnection(connectionId, connectionToken, this.path, this.options);
    // Only negotiate can ask for stateful reconnect (a client that skips it cannot); another instance's grant holds if this one allows it.
    connection.statefulRequested = statefulRequested && this.options.allowStatefulReconnects;
    return connection;
  }

  protected override grantsStatefulReconnect(negotiate: HubRequest): boolean {
    return this.options.allowStatefulReconnects && wantsStatefulReconnect(negotiate.query);
  }

  protected claim(connection: HubConnection, user: unknown): void {
    enter(connection, HUB_CONNECTION_LIFECYCLE, 'handshaking');
    connection.userIdentifier = user === undefined ? null : (this.identity.userIdProvider(user) ?? null);
    this.setUser(connection, user);
  }

  /** The user hub methods see, and when the connection loop's sweep closes it (closeOnAuthenticationExpiration). */
  private setUser(connection: HubConnection, user: unknown): void {
    connection.user = user;
    connection.authExpiresAt = this.options.closeOnAuthenticationExpiration ? authenticationExpiresAt(user) : null;
  }

  protected override tokenLifetime(user: unknown): number | undefined {
    return this.options.enableAuthenticationRefresh ? tokenLifetimeSeconds(user) : undefined;
  }

  /**
   * An authentication refresh: the connection's own user with a new token (its identifier stays).
   * `carried`: another instance carried it here (its CORS checks were made there, and it is not carried on).
   */
  private refresh(req: IncomingMessage, res: ServerResponse, carried = false): void {
    if (!carried && this.cors !== null && this.cors.handleRequest(req, res)) return;
    const carrier = carried ? null : this.carrying;
    const endpoint: RefreshableEndpoint<HubConnection> = {
      find: (token) => this.find(token),
      identify: (request) => this.identify(request),
      ownerOf: (user) => this.ownerOf(user),
      admits: (connection, owner) => this.admitsOwner(connection, owner),
      // A connection not started yet takes its user from the request that starts it.
      renew: (connection, user) => {
        if (connection.state !== 'negotiated') this.setUser(connection, user);
      },
      // Only a token this endpoint signed names a connection another instance may hold; its owner listens for it (servesCarriedToWebSockets too).
      ...(carrier === null ? {} : { elsewhere: (token: string) => this.carryRefresh(carrier, token, req, res) }),
    };
    answerRefresh(req, res, endpoint).catch((error: unknown) => this.failed('an authentication refresh', res, error));
  }

  private async carryRefresh(carrier: CarriedRequests, token: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const claims = this.readToken(token);
    return claims !== null && carrier.carry(claims.connectionId, req, res, false);
  }

  /** The owner of a connection takes the refreshes other instances carry to it; other carried requests are the transports'. */
  protected override replayCarried(req: IncomingMessage, res: ServerResponse): void {
    if (this.handleRefresh !== null && routedPath(req.url ?? '/') === `${this.path.toLowerCase()}${REFRESH_SUFFIX}`) return this.refresh(req, res, true);
    super.replayCarried(req, res);
  }

  /** With authentication refresh, a WebSocket connection's owner listens for the refreshes other instances carry to it. */
  protected override servesCarriedToWebSockets(): boolean {
    return this.options.enableAuthenticationRefresh;
  }

  /**
   * Starts a connection on a transport made outside HTTP (nestjs-signalr/testing's in-memory one):
   * it runs the same loop as one an upgrade or event stream started. `events` is where the
   * transport reports what it receives and its end.
   */
  open(transport: ConnectionTransport, request: HubRequest, user: unknown): { connection: HubConnection; events: TransportEvents<HubConnection> } {
    const connection = this.create(1, null);
    this.claim(connection, user);
    this.start(connection, transport, request);
    return { connection, events: this.handler };
  }

  /**
   * The hub protocol reads records across chunks, so a body is handed over as it arrives. While the
   * connection's inbound queue is full the body is not read further and the POST stays unanswered
   * (inbound backpressure, as a WebSocket pauses its socket).
   */
  protected async receiveBody(req: IncomingMessage, connection: HubConnection): Promise<void> {
    for await (const chunk of req) {
      this.handler.receive(connection, chunk as Buffer);
      const paused = connection.transport?.readable?.();
      if (paused) await paused;
    }
  }

  /** Stateful reconnect: a stateful connection's new WebSocket re-attaches; any other second socket is refused. */
  protected override upgradeTaken(req: IncomingMessage, socket: Duplex, head: Buffer, request: HubRequest, connection: HubConnection): void | Promise<void> {
    if (connection.replay !== null && connection.state !== 'closed') return this.reattach(req, socket, head, request, connection);
    this.rejectTaken(connection, socket);
  }

  /** A stateful connection on a WebSocket may be re-attached through another instance while it runs here. */
  protected override start(connection: HubConnection, transport: ConnectionTransport, request: HubRequest): void {
    super.start(connection, transport, request);
    if (this.bridge === null || !connection.statefulRequested || transport.name !== 'WebSockets' || connection.state === 'closed') return;
    this.attachOwner ??= { admits: (held, owner) => this.admitsOwner(held, owner), draining: () => this.draining, events: this.handler };
    const release = this.bridge.hold(connection.connectionId, attachHost(connection, this.attachOwner));
    connection.abortSignal.addEventListener('abort', release, { once: true });
  }

  protected override heldElsewhere(token: string): ConnectionTokenClaims | null {
    if (this.bridge === null) return null;
    const claims = this.readToken(token);
    return claims !== null && claims.stateful ? claims : null;
  }

  /** Stateful reconnect across instances: the owner is asked to take the socket (see bridged-reattach.ts). */
  protected override upgradeElsewhere(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    claims: ConnectionTokenClaims,
    owner: ConnectionOwner,
  ): void | Promise<void> {
    if (this.bridge === null || !claims.stateful || !this.options.allowStatefulReconnects) return super.upgradeElsewhere(req, socket, head, claims, owner);
    return bridgeUpgrade(this.bridge, this.wss, claims.connectionId, owner, { req, socket, head }, () => this.draining);
  }

  /** The client's new WebSocket takes over from the old one (no negotiate, no handshake). */
  private async reattach(req: IncomingMessage, socket: Duplex, head: Buffer, request: HubRequest, connection: HubConnection): Promise<void> {
    // Authenticated like any request, and only the connection's own user may take it over.
    const refusal = await this.refusal(request, connection);
    if (refusal !== 0) return rejectUpgrade(socket, refusal);
    if (this.draining) return rejectUpgrade(socket, 503, HttpTexts.shuttingDown);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // The connection may have ended while the upgrade completed: then the new socket just closes.
      if (connection.state === 'closed') return ws.close(1000);
      this.handler.reattach(connection, this.webSocketTransport(ws, connection, socket));
    });
  }
}
