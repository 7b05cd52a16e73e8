import type { IncomingMessage, ServerResponse } from 'http';
import type { Duplex } from 'stream';
import { WebSocketServer } from 'ws';
import type { TransportName } from '../connection/connection-transport.js';
import type { HubConnection } from '../connection/hub-connection.js';
import type { HubConnectionHandler } from '../connection/hub-connection-handler.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import type { ResolvedHubOptions } from '../interfaces/signalr-options.interface.js';
import { HttpTexts } from '../signalr.messages.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { rejectUpgrade, sendJson, sendText } from './http-responses.js';
import { negotiateResponse, readNegotiateVersion } from './negotiate.js';
import { WebSocketTransport } from './websocket.transport.js';

/** Who the caller is, decided from the HTTP request that carries a connection. */
export interface EndpointIdentity {
  authenticate?: (request: HubRequest) => unknown | Promise<unknown>;
  userIdProvider: (user: unknown) => string | null | undefined;
}

/** Ways past the message-size limit a single WebSocket frame may go before `ws` refuses it outright. */
const FRAME_ALLOWANCE = 4;

function toHubRequest(req: IncomingMessage): HubRequest {
  const url = req.url ?? '/';
  const parsed = new URL(url, 'http://localhost');
  return {
    method: req.method ?? 'GET',
    url,
    path: parsed.pathname,
    query: parsed.searchParams,
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress,
  };
}

/**
 * One hub's HTTP surface, as ASP.NET Core's HttpConnectionDispatcher: negotiate, the WebSocket
 * upgrade, and the status codes of the reference for every other request on the path.
 */
export class HubEndpoint {
  private readonly wss: WebSocketServer;

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
  }

  /** Requests on `{path}/negotiate` and on `{path}` that are not upgrades. */
  handleRequest(req: IncomingMessage, res: ServerResponse, isNegotiate: boolean): void {
    const work = isNegotiate ? this.negotiate(req, res) : this.handleTransportRequest(req, res);
    work.catch(() => {
      if (!res.headersSent) sendText(res, 500);
      else res.destroy();
    });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgrade(req, socket, head).catch(() => rejectUpgrade(socket, 500));
  }

  private async negotiate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendText(res, 405);
    const request = toHubRequest(req);
    const version = readNegotiateVersion(request.query);
    if ('error' in version) return sendJson(res, 200, JSON.stringify({ error: version.error }));
    if ((await this.identify(request)) === REFUSED) return sendText(res, 401);
    const connection = this.registry.create(this.path, this.options, version.version);
    sendJson(res, 200, negotiateResponse(version.version, connection, this.transports));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const request = toHubRequest(req);
    const token = request.query.get('id');
    const existing = token === null ? undefined : this.registry.get(token);
    if (token !== null && existing === undefined) return rejectUpgrade(socket, 404, HttpTexts.connectionNotFound);
    if (!this.transports.includes('WebSockets')) return rejectUpgrade(socket, 404, HttpTexts.transportNotSupported('WebSockets'));
    if (existing !== undefined && existing.state !== 'negotiated') return this.rejectTaken(existing, socket);

    const user = await this.identify(request);
    if (user === REFUSED) return rejectUpgrade(socket, 401);
    // Without an id the client skipped negotiation: the connection starts here (negotiate version 0).
    const connection = existing ?? this.registry.create(this.path, this.options, 0);
    if (connection.state !== 'negotiated') return this.rejectTaken(connection, socket);
    connection.state = 'handshaking';
    connection.user = user;
    connection.userIdentifier = user === undefined ? null : (this.identity.userIdProvider(user) ?? null);

    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const transport = new WebSocketTransport(ws, connection, this.handler);
      void this.handler.run(connection, transport, request);
    });
  }

  /** Every other request on the hub path: SSE streams, polls, sends and deletes. */
  private async handleTransportRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method;
    if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') return sendText(res, 405);
    const connection = this.lookup(toHubRequest(req), res);
    if (connection === null) return;
    const current = connection.transport?.name;
    if (method === 'GET') {
      const wanted: TransportName = req.headers.accept?.includes('text/event-stream') ? 'ServerSentEvents' : 'LongPolling';
      if (!this.transports.includes(wanted)) return sendText(res, 404, HttpTexts.transportNotSupported(wanted));
      if (current !== undefined && current !== wanted) return sendText(res, 400, HttpTexts.cannotChangeTransport);
      return sendText(res, 404, HttpTexts.transportNotSupported(wanted));
    }
    if (method === 'POST') {
      // Only WebSockets is served by this endpoint, and WebSocket connections never POST.
      return sendText(res, 405, HttpTexts.postOnWebSocket);
    }
    if (current !== 'LongPolling') return sendText(res, 400, HttpTexts.deleteNotLongPolling);
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

  /** The user for this request, undefined when anonymous, or REFUSED when `authenticate` threw. */
  private async identify(request: HubRequest): Promise<unknown> {
    if (this.identity.authenticate === undefined) return undefined;
    try {
      return await this.identity.authenticate(request);
    } catch {
      return REFUSED;
    }
  }

  close(): void {
    this.wss.close();
  }
}

const REFUSED: unique symbol = Symbol('refused');
