import { EventEmitter } from 'events';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'http';
import type { TransportConnection } from '../connection/transport-connection.js';
import type { CarriedAnswer, CarriedExchange, ConnectionRelay, ServedRequest } from '../interfaces/connection-relay.interface.js';
import { HttpTexts } from '../signalr.messages.js';
import { sendText } from './http-responses.js';
import { TimedWait } from './timed-wait.js';

/** The largest body chunk carried at once; the next goes once the owner took this one. */
export const CARRIED_CHUNK_BYTES = 64 * 1024;
/**
 * Default of the most requests an instance carries at once (each is a client's open HTTP request,
 * held here with at most one chunk on its way): beyond it requests are refused with 503 rather than held.
 */
const MAX_CARRYING = 16_384;
/**
 * Default of the most body bytes an owner holds for carried sends not yet read (each waits in its
 * connection's POST queue with its first chunk): beyond it a carried send with a body gets 503.
 */
const MAX_HELD_BYTES = 16 * 1024 * 1024;

/**
 * What carrying may hold on one instance, shared by all its endpoints so that the bounds are the
 * instance's (the relay's `limits`, else the defaults), with what is held now.
 */
export class CarryingBudget {
  readonly maxCarrying: number;
  readonly maxHeldBytes: number;
  /** Requests this instance is carrying to owners now. */
  carrying = 0;
  /** Body bytes of carried sends this instance holds as owner, not yet read. */
  heldBytes = 0;

  constructor(limits: ConnectionRelay['limits']) {
    this.maxCarrying = limits?.maximumCarriedRequests ?? MAX_CARRYING;
    this.maxHeldBytes = limits?.maximumHeldCarriedBytes ?? MAX_HELD_BYTES;
  }
}
/**
 * Runs a request on the owner as if it had reached it (the endpoint's own transport-request path, no
 * carrying); it answers whatever happens, an exception with 500 (and logs it), as for a local request.
 */
export type ReplayRequest = (req: IncomingMessage, res: ServerResponse) => void;

/** A credit, the answer, or the end of waiting: the client went away, the owner is silent or gone. */
type Reply = 'credit' | 'gone' | 'timeout' | 'lost' | CarriedAnswer;

/** The owner's replies to one carried request, awaited one at a time, each within a timeout. */
class Replies {
  private readonly queued: Reply[] = [];
  private readonly waiter = new TimedWait<Reply>();

  put(reply: Reply): void {
    if (!this.waiter.wakeUp(reply)) this.queued.push(reply);
  }

  next(timeout: number): Promise<Reply> {
    const queued = this.queued.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return this.waiter.wait(timeout, 'timeout');
  }
}

/** A piece of a client's body, as it is carried to the owner. */
type Piece = { chunk: Buffer; last: boolean };

/** The body in pieces of at most CARRIED_CHUNK_BYTES, each flagged whether it is the last. */
async function* pieces(req: IncomingMessage): AsyncGenerator<Piece> {
  let parts: Buffer[] = [];
  let size = 0;
  // Not destroyed when carrying ends early: what is left is read and dropped (see `carried`).
  for await (const received of req.iterator({ destroyOnReturn: false })) {
    let chunk = received as Buffer;
    while (size + chunk.length >= CARRIED_CHUNK_BYTES && (size > 0 || chunk.length > CARRIED_CHUNK_BYTES)) {
      const take = CARRIED_CHUNK_BYTES - size;
      parts.push(chunk.subarray(0, take));
      yield { chunk: Buffer.concat(parts), last: false };
      parts = [];
      size = 0;
      chunk = chunk.subarray(take);
    }
    if (chunk.length > 0) {
      parts.push(chunk);
      size += chunk.length;
    }
  }
  yield { chunk: parts.length === 1 ? parts[0] : Buffer.concat(parts, size), last: true };
}

/**
 * The body's next piece, or null when the client's body broke off: the client is answered 400, as a
 * local POST whose body breaks off, after the exchange (if one began) is aborted so that the owner
 * stops waiting for the rest.
 */
async function nextPieceOr400(body: AsyncGenerator<Piece>, res: ServerResponse, exchange: CarriedExchange | null): Promise<Piece | null> {
  try {
    return (await body.next()).value as Piece;
  } catch {
    exchange?.abort();
    sendText(res, 400);
    return null;
  }
}

/**
 * The owner went silent, is gone, or no longer takes the request's chunks: the exchange is aborted
 * and the client told its connection is not found, as when a connection ended (its client reconnects).
 */
function ownerLost(exchange: CarriedExchange, res: ServerResponse): void {
  exchange.abort();
  sendText(res, 404, HttpTexts.connectionNotFound);
}

/**
 * The body of a carried request on the owner, read as a request's body is (`for await`): asking
 * for the next chunk is what credits the asker, so a full inbound queue holds the sender back.
 */
class CarriedBody {
  readonly socket: { remoteAddress: string | undefined };
  private readonly chunks: Buffer[] = [];
  private ended: boolean;
  private failure: Error | null = null;
  /** The wait for the asker's next chunk (or this request's failure). */
  private readonly arrival = new TimedWait<boolean>();

  constructor(
    private readonly served: ServedRequest,
    private readonly timeout: number,
    /** Counts the carried body bytes held, with the instance's other carried requests. */
    private readonly budget: CarryingBudget,
  ) {
    this.socket = { remoteAddress: served.request.remoteAddress };
    this.ended = served.last;
    this.hold(served.first);
  }

  push(chunk: Uint8Array, last: boolean): void {
    this.hold(chunk);
    this.ended = last;
    this.arrival.wakeUp(true);
  }

  /** The request is answered: what it still holds is let go of. */
  discard(): void {
    for (const chunk of this.chunks) this.budget.heldBytes -= chunk.length;
    this.chunks.length = 0;
  }

  private hold(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.budget.heldBytes += chunk.length;
  }

  get method(): string {
    return this.served.request.method;
  }
  get url(): string {
    return this.served.request.url;
  }
  get headers(): IncomingMessage['headers'] {
    return this.served.request.headers;
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.arrival.wakeUp(true);
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return { next: () => this.next() };
  }

  private async next(): Promise<IteratorResult<Buffer>> {
    for (let credited = false; ;) {
      if (this.failure !== null) throw this.failure;
      const chunk = this.chunks.shift();
      if (chunk !== undefined) {
        this.budget.heldBytes -= chunk.length;
        return { value: chunk, done: false };
      }
      if (this.ended) return { value: undefined, done: true };
      if (!credited) this.served.credit();
      credited = true;
      const arrived = await this.arrival.wait(this.timeout, false);
      if (!arrived) this.fail(new Error('the asking instance sent no next chunk'));
    }
  }
}

/** The owner's response to a carried request: its one answer goes back to the asker. */
class CarriedResponse extends EventEmitter {
  headersSent = false;
  writableEnded = false;
  private status = 200;
  private headers: Record<string, string> = {};

  constructor(
    private readonly served: ServedRequest,
    /** Called once, when the request is over (answered, or its asker gone). */
    private readonly over: () => void,
  ) {
    super();
  }

  writeHead(status: number, headers: OutgoingHttpHeaders = {}): this {
    this.status = status;
    for (const [name, value] of Object.entries(headers)) if (value !== undefined && name.toLowerCase() !== 'content-length') this.headers[name] = String(value);
    this.headersSent = true;
    return this;
  }

  end(body?: Buffer | string): this {
    if (this.writableEnded) return this;
    this.writableEnded = true;
    const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    this.served.answer({ status: this.status, headers: this.headers, body: bytes });
    this.over();
    this.emit('close');
    return this;
  }

  /** The asker's client went away: as a local response's socket closing (a poll's data stays for the next poll). */
  gone(): void {
    if (this.writableEnded) return;
    this.over();
    this.emit('close');
  }

  destroy(): void {
    this.served.answer({ status: 500, headers: {}, body: Buffer.alloc(0) });
    this.gone();
  }
}

/**
 * Both ends of carrying (issue 18). As asker: a request whose signed token names no connection here
 * is offered to the cluster; if an owner takes it, its body goes in chunks with credit of one and the
 * owner's answer is written to the client. As owner: a carried request is replayed through the
 * endpoint's own path, so authentication, the POST queue, limits and status codes are the local ones.
 */
export class CarriedRequests {
  /** Connections this instance serves carried requests for, by id. */
  private readonly owned = new Map<string, TransportConnection>();

  constructor(
    private readonly relay: ConnectionRelay,
    /** The instance's bounds, shared with its other endpoints. */
    private readonly budget: CarryingBudget,
    private readonly pollTimeout: number,
    private readonly replay: ReplayRequest,
  ) {}

  /**
   * Carries `req` to the owner of `connectionId` and answers `res` with what it says. False when no
   * instance owns it (nothing was answered; a `startable` GET may then start the connection here).
   */
  async carry(connectionId: string, req: IncomingMessage, res: ServerResponse, startable: boolean): Promise<boolean> {
    if (this.budget.carrying >= this.budget.maxCarrying) return (sendText(res, 503), true);
    this.budget.carrying++;
    try {
      return await this.carried(connectionId, req, res, startable);
    } finally {
      this.budget.carrying--;
    }
  }

  /** The connection's transport is here: requests that reach other instances come to it. */
  async own(connection: TransportConnection): Promise<void> {
    this.owned.set(connection.connectionId, connection);
    await this.relay.serve(connection.connectionId, (served) => this.serve(served));
  }

  /** Stops serving connections that are gone (closed and no longer registered). */
  sweep(isGone: (connection: TransportConnection) => boolean): void {
    for (const [id, connection] of this.owned) {
      if (!isGone(connection)) continue;
      this.owned.delete(id);
      this.relay.release(id);
    }
  }

  private async carried(connectionId: string, req: IncomingMessage, res: ServerResponse, startable: boolean): Promise<boolean> {
    const body = pieces(req);
    try {
      return await this.carriedBody(connectionId, req, res, startable, body);
    } finally {
      // A body the owner answered before taking it all (a refresh, a 403), or no owner took: the rest
      // is read and dropped, as Node does with a local request's unread body, so that the client's
      // connection is free for its next request instead of stalled behind bytes nobody reads.
      await body.return(undefined);
      req.resume();
    }
  }

  private async carriedBody(
    connectionId: string,
    req: IncomingMessage,
    res: ServerResponse,
    startable: boolean,
    body: AsyncGenerator<Piece>,
  ): Promise<boolean> {
    const piece = await nextPieceOr400(body, res, null);
    if (piece === null) return true;
    const replies = new Replies();
    const request = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, remoteAddress: req.socket.remoteAddress };
    let exchange: CarriedExchange | null;
    try {
      exchange = await this.relay.carry(connectionId, request, piece.chunk, piece.last, {
        credit: () => replies.put('credit'),
        answer: (answer) => replies.put(answer),
        lost: () => replies.put('lost'),
      });
    } catch {
      // Redis is unreachable: nobody can tell where the connection is. A request that may start it
      // starts it here, as without carrying (with affinity, it is the right place); others get 503.
      if (startable) return false;
      return (sendText(res, 503), true);
    }
    if (exchange === null) return false;
    const gone = () => replies.put('gone');
    res.once('close', gone);
    try {
      await this.exchange(exchange, replies, body, piece.last, req.method === 'GET', res);
    } finally {
      res.removeListener('close', gone);
    }
    return true;
  }

  private async exchange(
    exchange: CarriedExchange,
    replies: Replies,
    body: AsyncGenerator<Piece>,
    sentLast: boolean,
    isPoll: boolean,
    res: ServerResponse,
  ): Promise<void> {
    // A poll is held by the owner up to its poll timeout; anything else answers (or credits) at once.
    // An owner that died is found out sooner by the relay (`lost`): its client reconnects anywhere.
    const patience = isPoll ? this.pollTimeout + this.relay.timeout : this.relay.timeout;
    for (;;) {
      const reply = await replies.next(patience);
      if (reply === 'gone') return exchange.abort();
      if (reply === 'timeout' || reply === 'lost') return ownerLost(exchange, res);
      if (reply !== 'credit') {
        exchange.close();
        res.writeHead(reply.status, { ...reply.headers, 'Content-Length': reply.body.byteLength });
        return void res.end(reply.body);
      }
      if (sentLast) continue; // a credit after the last chunk: the answer follows
      const piece = await nextPieceOr400(body, res, exchange);
      if (piece === null) return;
      sentLast = piece.last;
      if (!(await exchange.send(piece.chunk, piece.last))) return ownerLost(exchange, res);
    }
  }

  private serve(served: ServedRequest): void {
    if (served.first.length > 0 && this.budget.heldBytes + served.first.length > this.budget.maxHeldBytes) {
      return served.answer({ status: 503, headers: { 'Content-Type': 'text/plain' }, body: new Uint8Array(0) });
    }
    const req = new CarriedBody(served, this.relay.timeout, this.budget);
    const res = new CarriedResponse(served, () => req.discard());
    served.listen({
      chunk: (chunk, last) => req.push(chunk, last),
      abort: () => {
        req.fail(new Error('the asking instance gave up'));
        res.gone();
      },
    });
    this.replay(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  }
}
