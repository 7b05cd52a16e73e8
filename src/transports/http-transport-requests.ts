import type { IncomingMessage, ServerResponse } from 'http';
import type { ConnectionTransport, TransportEvents, TransportName } from '../connection/connection-transport.js';
import type { TransportConnection } from '../connection/transport-connection.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import { HttpTexts } from '../signalr.messages.js';
import type { CarriedRequests } from './carried-requests.js';
import type { ConnectionOwners } from './connection-owners.js';
import { sendText } from './http-responses.js';
import { toHubRequest } from './incoming-hub-request.js';
import { answerFirstPoll, LongPollingTransport } from './long-polling.transport.js';
import { OrderedSends } from './ordered-sends.js';
import { REFUSED } from './request-identity.js';
import { ServerSentEventsTransport } from './server-sent-events.transport.js';
import type { Elsewhere, SignedStart, SignedStarts } from './signed-starts.js';

/** What the HTTP transports' requests need of their endpoint (ConnectionEndpoint). */
export interface HttpTransportHost<C extends TransportConnection> {
  readonly transports: readonly TransportName[];
  /** Which user each connection belongs to. */
  readonly owners: ConnectionOwners<C>;
  /** Signed tokens when instances share a secret; null otherwise. */
  readonly signed: SignedStarts<C> | null;
  /** Where a new transport reports what it receives and its end (the endpoint's runner). */
  readonly events: TransportEvents<C>;
  /** Whether shutdown began: requests that would start a transport get 503. */
  draining(): boolean;
  /** Carries requests for connections held elsewhere once carrying is on; null until then, or without it. */
  carrier(): CarriedRequests | null;
  /** The connection a token names, if it is still known and belongs to the endpoint. */
  find(token: string): C | undefined;
  /** The user for a request, undefined when anonymous, or REFUSED. */
  identify(request: HubRequest): Promise<unknown>;
  /** A later request on a connection: 401, 403, or 0 when admitted. */
  refusal(request: HubRequest, connection: C): Promise<0 | 401 | 403>;
  /** A POST's body; throws InvalidDataError (413) when too large. */
  receiveBody(req: IncomingMessage, connection: C): Promise<void>;
  /** A connection made for a start that did not happen: it is closed and unregistered. */
  abandon(connection: C): void;
  /** The request that starts the transport decided who the user is. */
  claim(connection: C, user: unknown): void;
  /** The transport started: the connection's life begins. */
  start(connection: C, transport: ConnectionTransport, request: HubRequest): void;
}

/**
 * The requests of the HTTP transports, as ASP.NET Core's HttpConnectionDispatcher serves them: an
 * event stream or a first poll that starts a connection, later polls, sends (POST) and DELETE, with
 * the reference's status codes; a signed token's requests may be carried to the instance that holds
 * its connection. Negotiate and WebSocket upgrades stay with the endpoint.
 */
export class HttpTransportRequests<C extends TransportConnection> {
  /** POSTs of SSE and long-polling connections, applied one request at a time. */
  private readonly sends = new OrderedSends<C>();

  constructor(private readonly host: HttpTransportHost<C>) {}

  /** A request on `{path}` that is not an upgrade: an event stream, a poll, a send or a DELETE; `carried` from another instance. */
  async handle(req: IncomingMessage, res: ServerResponse, carried = false): Promise<void> {
    const method = req.method;
    if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') return sendText(res, 405);
    const request = toHubRequest(req);
    // Only a GET may start a transport, so only a GET may make the connection a signed token names.
    const found = this.lookup(request, res, method === 'GET' && !carried, carried);
    if (found === null) return;
    if ('claims' in found) {
      // The instance that holds the connection answers, if any does; otherwise a GET within the token's window starts it here.
      const carrier = this.host.carrier();
      if (carrier !== null && (await carrier.carry(found.connectionId, req, res, found.claims !== null))) return;
      if (found.claims === null) return sendText(res, 404, HttpTexts.connectionNotFound);
      const wanted = this.wanted(req, res);
      if (wanted === null) return;
      return this.start(wanted, request, res, { token: found.token, claims: found.claims });
    }
    const connection = found;
    if (method === 'POST') return this.sends.receive(req, res, connection, request, this.host);
    // Every request after the one that started the transport is authenticated again, as ASP.NET
    // Core's endpoint authorization does: a token that expired or was revoked ends polls and sends.
    if (connection.transport !== null) {
      const refusal = await this.host.refusal(request, connection);
      if (refusal !== 0) return sendText(res, refusal);
    }
    if (method === 'DELETE') return this.terminate(res, connection);

    const wanted = this.wanted(req, res);
    if (wanted === null) return;
    const current = connection.transport;
    if (current === null) return this.start(wanted, request, res, connection);
    if (current.name !== wanted) return sendText(res, 400, HttpTexts.cannotChangeTransport);
    if (current instanceof LongPollingTransport) return current.accept(res);
    sendText(res, 409); // a second event stream for one connection
  }

  /**
   * The request that starts an HTTP transport also decides who the connection's user is. `target`
   * is the connection, or a signed token whose connection is made here (for the user it binds).
   */
  private async start(wanted: TransportName, request: HubRequest, res: ServerResponse, target: C | SignedStart): Promise<void> {
    if (this.host.draining()) return sendText(res, 503, HttpTexts.shuttingDown);
    const user = await this.host.identify(request);
    if (user === REFUSED) return sendText(res, 401);
    if (this.host.draining()) return sendText(res, 503, HttpTexts.shuttingDown);
    const owner = this.host.owners.of(user);
    const connection = 'claims' in target ? await this.host.signed!.adopt(target.token, target.claims, owner) : target;
    if (connection === 404) return sendText(res, 404, HttpTexts.connectionNotFound);
    if (connection === 403) return sendText(res, 403);
    if (this.host.draining() && connection.state === 'negotiated' && 'claims' in target) {
      this.host.abandon(connection);
      return sendText(res, 503, HttpTexts.shuttingDown);
    }
    if (connection.state !== 'negotiated' || connection.transport !== null) return sendText(res, 409);
    if (!this.host.owners.admits(connection, owner)) return sendText(res, 403);
    const carrier = this.host.carrier();
    if ('claims' in target && carrier !== null) {
      // Other instances reach it before its client is answered: the next request may land on any of them.
      await carrier.own(connection);
      if (connection.state !== 'negotiated' || connection.transport !== null) return sendText(res, 409);
    }
    this.host.claim(connection, user);
    if (wanted === 'ServerSentEvents') return this.host.start(connection, new ServerSentEventsTransport(res, connection, this.host.events), request);
    // The first poll starts the connection and returns at once, empty.
    this.host.start(connection, new LongPollingTransport(connection, this.host.events), request);
    answerFirstPoll(res);
  }

  /** The HTTP transport a GET asks for (an event stream by its Accept header, else a poll); null when it is answered 404, not served here. */
  private wanted(req: IncomingMessage, res: ServerResponse): TransportName | null {
    const wanted: TransportName = req.headers.accept?.includes('text/event-stream') ? 'ServerSentEvents' : 'LongPolling';
    if (this.host.transports.includes(wanted)) return wanted;
    sendText(res, 404, HttpTexts.transportNotSupported(wanted));
    return null;
  }

  private terminate(res: ServerResponse, connection: C): void {
    const transport = connection.transport;
    if (!(transport instanceof LongPollingTransport)) return sendText(res, 400, HttpTexts.deleteNotLongPolling);
    transport.terminate();
    sendText(res, 202);
  }

  /** The connection the request's token names, or a signed token whose connection may start here (`mayStart`) or be elsewhere. */
  private lookup(request: HubRequest, res: ServerResponse, mayStart: boolean, carried: boolean): C | Elsewhere | null {
    const token = request.query.get('id');
    if (token === null || token === '') {
      sendText(res, 400, HttpTexts.connectionIdRequired);
      return null;
    }
    const connection = this.host.find(token);
    if (connection !== undefined) return connection;
    const elsewhere = this.host.signed?.locate(token, mayStart, this.host.carrier() !== null && !carried) ?? null;
    if (elsewhere !== null) return elsewhere;
    sendText(res, 404, HttpTexts.connectionNotFound);
    return null;
  }
}
