import type { IncomingHttpHeaders } from 'http';

/**
 * Issue 18: the requests of an SSE or long-polling connection (POSTs, polls, DELETE) carried from
 * the instance they reached to the instance that holds the connection's transport (its owner), and
 * the owner's answer carried back. The transports speak this contract; a backplane implements it
 * (`HubBackplane.connectionRelay`). Neither side learns anything of the other's internals.
 */

/** What the owner needs to handle a request as if it had reached it: the authenticator reads these. */
export interface CarriedHttpRequest {
  readonly method: string;
  /** Path and query as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
}

/** The owner's complete answer to a carried request. */
export interface CarriedAnswer {
  readonly status: number;
  /** Response headers, Content-Length excepted (the asking instance sets it). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** What the asking instance hears back about one carried request. */
export interface CarryListener {
  /** The owner consumed the last chunk and wants the next (credit of one chunk). */
  credit(): void;
  /** The owner answered: the carried request is over. */
  answer(answer: CarriedAnswer): void;
  /** The owner is gone (its instance died): the carried request is over, unanswered. */
  lost(): void;
}

/** A request being carried, as the asking instance holds it. */
export interface CarriedExchange {
  /** The next body chunk (after a credit); resolves false when no owner heard it (it died, or Redis is down). */
  send(chunk: Uint8Array, last: boolean): Promise<boolean>;
  /** The client went away or the wait timed out: the owner is told (best effort), and the exchange is forgotten here. */
  abort(): void;
  /** The answer came: the exchange is forgotten here. */
  close(): void;
}

/** What the owner hears about a carried request after it began. */
export interface ServedRequestEvents {
  chunk(chunk: Uint8Array, last: boolean): void;
  /** The asking instance gave up (its client went away, or it stopped waiting). */
  abort(): void;
}

/** A carried request, as its owner serves it. */
export interface ServedRequest {
  readonly request: CarriedHttpRequest;
  /** The body's first chunk (empty for a request without a body) and whether it is also the last. */
  readonly first: Uint8Array;
  readonly last: boolean;
  listen(events: ServedRequestEvents): void;
  /** Asks for the next chunk. */
  credit(): void;
  /** Answers, once; the request is forgotten here. */
  answer(answer: CarriedAnswer): void;
}

/** The owner's end: how it is told of requests for the connections it holds. */
export type ServeCarried = (request: ServedRequest) => void;

/**
 * Carries connection requests between instances (see the note at the top). A backplane other than
 * Redis that wants SSE and Long Polling without sticky sessions implements it over its own messaging.
 *
 * @example
 * class MyBackplane implements HubBackplane {
 *   // ...createLifetimeManager, close...
 *   connectionRelay(): ConnectionRelay {
 *     return this.relay; // carry(): ask the owner over the broker; serve()/release(): listen for a connection's requests
 *   }
 * }
 */
export interface ConnectionRelay {
  /** How long each side waits for the other's next message before giving up (ms). */
  readonly timeout: number;
  /**
   * Carries a request to the owner of `connectionId` with its first body chunk. Resolves null when no
   * instance owns the connection (the request is this instance's to answer); rejects when Redis is
   * unreachable (nobody can tell who owns it).
   */
  carry(connectionId: string, request: CarriedHttpRequest, first: Uint8Array, last: boolean, listener: CarryListener): Promise<CarriedExchange | null>;
  /** This instance holds `connectionId`'s transport: carried requests for it go to `serve`. Settles once other instances can reach it. */
  serve(connectionId: string, serve: ServeCarried): Promise<void>;
  /** The connection is gone from here: requests for it no longer come. */
  release(connectionId: string): void;
  /** Carried requests open on this instance, as asker and as owner (for leak checks). */
  readonly pending: { readonly carrying: number; readonly serving: number };
  /**
   * The transports' bounds on carrying through this relay, for the whole instance (all its hubs and
   * connection handlers); each one left out is the default. How many requests an owner serves at
   * once is the relay's own to bound.
   */
  readonly limits?: {
    /**
     * Requests this instance carries to owners at once (each is a client's open HTTP request, a held
     * poll among them); beyond it a request to be carried gets 503. Default 16,384.
     */
    readonly maximumCarriedRequests?: number;
    /**
     * Body bytes this instance, as owner, holds for carried sends waiting in their connections' POST
     * queues (each holds its first chunk, up to 64 KiB); beyond it a carried send with a body gets
     * 503. Default 16 MiB.
     */
    readonly maximumHeldCarriedBytes?: number;
  };
}
