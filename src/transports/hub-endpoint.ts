import { parse as parseCookies } from 'cookie';
import type { IncomingMessage, ServerResponse } from 'http';
import type { Duplex } from 'stream';
import { WebSocketServer } from 'ws';
import { authenticationExpiresAt } from '../auth/authentication-expiry.js';
import { CorsPolicy } from '../auth/cors-policy.js';
import type { TransportName } from '../connection/connection-transport.js';
import type { HubConnection } from '../connection/hub-connection.js';
import type { HubConnectionHandler } from '../connection/hub-connection-handler.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import type { ResolvedHubOptions } from '../interfaces/signalr-options.interface.js';
import { InvalidDataError } from '../protocol/protocol-errors.js';
import { HttpTexts } from '../signalr.messages.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { rejectUpgrade, sendJson, sendText } from './http-responses.js';
import { answerFirstPoll, LongPollingTransport } from './long-polling.transport.js';
import { negotiateResponse, readNegotiateVersion, wantsStatefulReconnect } from './negotiate.js';
import { ServerSentEventsTransport } from './server-sent-events.transport.js';
import { WebSocketTransport } from './websocket.transport.js';

/** Who the caller is, decided from the HTTP request that carries a connection. */
export interface EndpointIdentity {
  authenticate?: (request: HubRequest) => unknown | Promise<unknown>;
  userIdProvider: (user: unknown) => string | null | undefined;
}

/** Ways past the message-size limit a single WebSocket frame may go before `ws` refuses it outright. */
const FRAME_ALLOWANCE = 4;

export function toHubRequest(req: IncomingMessage): HubRequest {
  const url = req.url ?? '/';
  const parsed = new URL(url, 'http://localhost');
  const headers = req.headers;
  let cookies: Record<string, string | undefined> | undefined;
  // Nothing here refers to `req` itself: a long-lived connection must not keep the request alive.
  return {
    method: req.method ?? 'GET',
    url,
    path: parsed.pathname,
    query: parsed.searchParams,
    headers,
    get cookies() {
      return (cookies ??= headers.cookie ? parseCookies(headers.cookie) : {});
    },
    remoteAddress: req.socket.remoteAddress,
  };
}

/**
 * One hub's HTTP surface, as ASP.NET Core's HttpConnectionDispatcher: negotiate, the WebSocket
 * upgrade, and the status codes of the reference for every other request on the path.
 */
export class HubEndpoint {
  private readonly wss: WebSocketServer;
  /** The tail of each connection's POST queue: sends are applied one request at a time, as .NET does. */
  private readonly sendQueues = new WeakMap<HubConnection, Promise<void>>();
  /** Browser origins allowed (options.cors); null when the hub has no origin checks. */
  private readonly cors: CorsPolicy | null;
  /**
   * Set when shutdown begins: negotiate and requests that would start a transport get 503, while
   * the requests of running connections (sends, polls, DELETE) are still served until they close.
   */
  draining = false;

  constructor(
    readonly path: string,
    readonly options: ResolvedHubOptions,
    private readonly handler: HubConnectionHandler,
    private readonly registry: ConnectionRegistry,
    private readonly identity: EndpointIdentity,
    readonly transports: readonly TransportName[],
  ) {
    const limit = options.maximumReceiveMessageSize;
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      // Frames may batch several messages; the per-message limit is enforced by the connection loop.
      maxPayload: limit === null ? 100 * 1024 * 1024 : Math.max(limit * FRAME_ALLOWANCE, 64 * 1024),
      // JSON parsing rejects invalid text itself, with the protocol's error instead of a 1007 close.
      skipUTF8Validation: true,
    });
    this.cors = options.cors ? new CorsPolicy(options.cors) : null;
  }

  /** Requests on `{path}/negotiate` and on `{path}` that are not upgrades. */
  handleRequest(req: IncomingMessage, res: ServerResponse, isNegotiate: boolean): void {
    // A refused origin (403) or a preflight (204) is answered by the CORS policy; others get its headers.
    if (this.cors !== null && this.cors.handleRequest(req, res)) return;
    const work = isNegotiate ? this.negotiate(req, res) : this.handleTransportRequest(req, res);
    work.catch(() => {
      if (!res.headersSent) sendText(res, 500);
      else res.destroy();
    });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.cors !== null && !this.cors.allowsUpgrade(req)) return rejectUpgrade(socket, 403);
    this.upgrade(req, socket, head).catch(() => rejectUpgrade(socket, 500));
  }

  private async negotiate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendText(res, 405);
    if (this.draining) return sendText(res, 503, HttpTexts.shuttingDown);
    const request = toHubRequest(req);
    const version = readNegotiateVersion(request.query);
    if ('error' in version) return sendJson(res, 200, JSON.stringify({ error: version.error }));
    if ((await this.identify(request)) === REFUSED) return sendText(res, 401);
    const connection = this.registry.create(this.path, this.options, version.version);
    connection.statefulRequested = this.options.allowStatefulReconnects && wantsStatefulReconnect(request.query);
    sendJson(res, 200, negotiateResponse(version.version, connection, this.transports));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.draining) return rejectUpgrade(socket, 503, HttpTexts.shuttingDown);
    const request = toHubRequest(req);
    const token = request.query.get('id');
    const existing = token === null ? undefined : this.registry.get(token);
    if (token !== null && existing === undefined) return rejectUpgrade(socket, 404, HttpTexts.connectionNotFound);
    if (!this.transports.includes('WebSockets')) return rejectUpgrade(socket, 404, HttpTexts.transportNotSupported('WebSockets'));
    if (existing !== undefined && existing.state !== 'negotiated') {
      if (existing.replay !== null && existing.state !== 'closed') return this.reattach(req, socket, head, request, existing);
      return this.rejectTaken(existing, socket);
    }

    const user = await this.identify(request);
    if (user === REFUSED) return rejectUpgrade(socket, 401);
    if (this.draining) return rejectUpgrade(socket, 503, HttpTexts.shuttingDown);
    // Without an id the client skipped negotiation: the connection starts here (negotiate version 0).
    const connection = existing ?? this.registry.create(this.path, this.options, 0);
    if (connection.state !== 'negotiated') return this.rejectTaken(connection, socket);
    connection.state = 'handshaking';
    this.assignUser(connection, user);

    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const transport = new WebSocketTransport(ws, connection, this.handler);
      void this.handler.run(connection, transport, request);
    });
  }

  /**
   * Stateful reconnect: the client's new WebSocket for a connection that still exists takes over
   * from the old one (no negotiate, no handshake). The request is authenticated like any other.
   */
  private async reattach(req: IncomingMessage, socket: Duplex, head: Buffer, request: HubRequest, connection: HubConnection): Promise<void> {
    if ((await this.identify(request)) === REFUSED) return rejectUpgrade(socket, 401);
    if (this.draining) return rejectUpgrade(socket, 503, HttpTexts.shuttingDown);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // The connection may have ended while the upgrade completed: then the new socket just closes.
      if (connection.state === 'closed') return ws.close(1000);
      this.handler.reattach(connection, new WebSocketTransport(ws, connection, this.handler));
    });
  }

  /** Every other request on the hub path: SSE streams, polls, sends and deletes. */
  private async handleTransportRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method;
    if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') return sendText(res, 405);
    const request = toHubRequest(req);
    const connection = this.lookup(request, res);
    if (connection === null) return;
    if (method === 'POST') return this.receiveSend(req, res, connection);
    if (method === 'DELETE') return this.terminate(res, connection);

    const wanted: TransportName = req.headers.accept?.includes('text/event-stream') ? 'ServerSentEvents' : 'LongPolling';
    if (!this.transports.includes(wanted)) return sendText(res, 404, HttpTexts.transportNotSupported(wanted));
    const current = connection.transport;
    if (current === null) return this.startHttpTransport(wanted, request, res, connection);
    if (current.name !== wanted) return sendText(res, 400, HttpTexts.cannotChangeTransport);
    if (current instanceof LongPollingTransport) return current.accept(res);
    sendText(res, 409); // a second event stream for one connection
  }

  /** The request that starts an HTTP transport also decides who the connection's user is. */
  private async startHttpTransport(
    transport: TransportName,
    request: HubRequest,
    res: ServerResponse,
    connection: HubConnection,
  ): Promise<void> {
    if (this.draining) return sendText(res, 503, HttpTexts.shuttingDown);
    const user = await this.identify(request);
    if (user === REFUSED) return sendText(res, 401);
    if (this.draining) return sendText(res, 503, HttpTexts.shuttingDown);
    if (connection.state !== 'negotiated' || connection.transport !== null) return sendText(res, 409);
    this.assignUser(connection, user);
    if (transport === 'ServerSentEvents') {
      void this.handler.run(connection, new ServerSentEventsTransport(res, connection, this.handler), request);
      return;
    }
    // The first poll starts the connection and returns at once, empty; the handshake comes by POST.
    void this.handler.run(connection, new LongPollingTransport(connection, this.handler), request);
    answerFirstPoll(res);
  }

  /** Client-to-server bytes for SSE and long polling; one POST per connection at a time, in order. */
  private async receiveSend(req: IncomingMessage, res: ServerResponse, connection: HubConnection): Promise<void> {
    if (connection.transport?.name === 'WebSockets') return sendText(res, 405, HttpTexts.postOnWebSocket);
    const previous = this.sendQueues.get(connection);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.sendQueues.set(connection, mine);
    try {
      await previous;
      if (connection.state === 'closed') return sendText(res, 404);
      for await (const chunk of req) this.handler.receive(connection, chunk as Buffer);
      sendText(res, 200);
    } catch (error) {
      // A body that breaks off is 400; bytes beyond the limit before the transport started are 413.
      if (!res.headersSent) sendText(res, error instanceof InvalidDataError ? 413 : 400);
    } finally {
      release();
      if (this.sendQueues.get(connection) === mine) this.sendQueues.delete(connection);
    }
  }

  private terminate(res: ServerResponse, connection: HubConnection): void {
    const transport = connection.transport;
    if (!(transport instanceof LongPollingTransport)) return sendText(res, 400, HttpTexts.deleteNotLongPolling);
    transport.terminate();
    sendText(res, 202);
  }

  private lookup(request: HubRequest, res: ServerResponse): HubConnection | null {
    const token = request.query.get('id');
    if (token === null || token === '') {
      sendText(res, 400, HttpTexts.connectionIdRequired);
      return null;
    }
    const connection = this.registry.get(token);
    if (connection === undefined) {
      sendText(res, 404, HttpTexts.connectionNotFound);
      return null;
    }
    return connection;
  }

  /** A connection that already has a transport: a different kind is refused with 400, a second socket with 409. */
  private rejectTaken(connection: HubConnection, socket: Duplex): void {
    const current = connection.transport?.name;
    if (current !== undefined && current !== 'WebSockets') rejectUpgrade(socket, 400, HttpTexts.cannotChangeTransport);
    else rejectUpgrade(socket, 409);
  }

  private assignUser(connection: HubConnection, user: unknown): void {
    connection.user = user;
    connection.userIdentifier = user === undefined ? null : (this.identity.userIdProvider(user) ?? null);
    // The connection loop's sweep closes the connection once this passes (closeOnAuthenticationExpiration).
    connection.authExpiresAt = this.options.closeOnAuthenticationExpiration ? authenticationExpiresAt(user) : null;
  }

  /**
   * The user for this request, undefined when anonymous, or REFUSED when `authenticate` threw or,
   * with `requireAuthentication`, found no user.
   */
  private async identify(request: HubRequest): Promise<unknown> {
    let user: unknown;
    try {
      user = await this.identity.authenticate?.(request);
    } catch {
      return REFUSED;
    }
    return (user === undefined || user === null) && this.options.requireAuthentication ? REFUSED : user;
  }

  close(): void {
    this.wss.close();
  }
}

const REFUSED: unique symbol = Symbol('refused');
