import { Decoder, Encoder } from '@msgpack/msgpack';
import type { IncomingHttpHeaders } from 'http';
import type {
  CarriedAnswer,
  CarriedExchange,
  CarriedHttpRequest,
  CarryListener,
  ConnectionRelay,
  ServeCarried,
  ServedRequest,
  ServedRequestEvents,
} from '../interfaces/connection-relay.interface.js';
import type { RedisLink } from './redis-link.js';

/*
 * Envelopes (MessagePack arrays). To the owner, on `{channelPrefix}internal:transport:{connectionId}`:
 *   [OPEN, replyServer, requestId, method, url, headers, remoteAddress | nil, firstChunk, last]
 *   [CHUNK, replyServer, requestId, chunk, last]
 *   [ABORT, replyServer, requestId]
 * To the asker, on `{channelPrefix}internal:transport-reply:{replyServer}` (every instance's own):
 *   [CREDIT, requestId]
 *   [ANSWER, requestId, status, headers, body]
 *   [HELD, requestId, ownerServer]   (a request still unanswered after HELD_AFTER: who holds it)
 *   [PROBE]                          (ignored: its receiver count tells whether that instance is alive)
 */
const OPEN = 0;
const CHUNK = 1;
const ABORT = 2;
const CREDIT = 0;
const ANSWER = 1;
const HELD = 2;
const PROBE = 3;

/** How long a served request waits unanswered before its asker is told who holds it (it may then watch that instance). */
const HELD_AFTER = 1_000;
/**
 * How often each instance checks that the instances it waits on (owners holding its requests) and
 * the instances waiting on it (askers of the requests it holds) are alive: one PUBLISH per such
 * instance, not per request. A dead owner's waiting clients get 404 (they reconnect anywhere); a
 * dead asker's held polls end as when their socket drops, so their data stays for the next poll.
 */
const PEER_PROBE_INTERVAL = 2_000;

/**
 * Default of the most carried requests an owner serves at once (a held poll costs about a kilobyte;
 * the body bytes sends hold are bounded by the transports). Beyond it new ones are answered 503.
 */
const MAX_SERVING = 16_384;

/** The backplane's bounds on carrying: the relay's own, and those it hands to the transports (`limits`). */
export interface RelayLimits {
  readonly maximumCarriedRequests?: number;
  readonly maximumServedRequests?: number;
  readonly maximumHeldCarriedBytes?: number;
}

const encoder = new Encoder();
const decoder = new Decoder();
const EMPTY = new Uint8Array(0);
const PROBE_ENVELOPE = Buffer.from(encoder.encode([PROBE]));

function bytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : EMPTY;
}

/** An envelope, or null when the message is not one (it is ignored, never thrown into the Redis client). */
function decode(message: Buffer): unknown[] | null {
  try {
    const envelope = decoder.decode(message);
    return Array.isArray(envelope) ? envelope : null;
  } catch {
    return null;
  }
}

/** A request this instance carries, waiting on its owner. */
interface Carried {
  readonly listener: CarryListener;
  readonly connectionId: string;
  readonly since: number;
  /** The owner's name once it said it holds the request (HELD). */
  owner: string | null;
}

/** One carried request on its owner. */
class RedisServedRequest implements ServedRequest {
  private events: ServedRequestEvents | null = null;
  /** Tells the asker who holds it, once it has waited HELD_AFTER. */
  heldTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly relay: RedisConnectionRelay,
    readonly key: string,
    /** The asking instance's name. */
    readonly asker: string,
    private readonly replyChannel: string,
    readonly requestId: number,
    readonly request: CarriedHttpRequest,
    readonly first: Uint8Array,
    readonly last: boolean,
  ) {}

  listen(events: ServedRequestEvents): void {
    this.events = events;
  }

  chunk(chunk: Uint8Array, last: boolean): void {
    this.events?.chunk(chunk, last);
  }

  abort(): void {
    this.relay.forget(this.key);
    this.events?.abort();
  }

  credit(): void {
    this.relay.reply(this.replyChannel, [CREDIT, this.requestId]);
  }

  answer(answer: CarriedAnswer): void {
    if (!this.relay.forget(this.key)) return;
    this.relay.reply(this.replyChannel, [ANSWER, this.requestId, answer.status, answer.headers, answer.body]);
  }
}

/**
 * ConnectionRelay over the backplane's RedisLink: a channel per owned connection (PUBLISH's receiver
 * count says whether anyone owns it) and one reply channel per instance, subscribed on first use.
 */
export class RedisConnectionRelay implements ConnectionRelay {
  /** Carried requests this instance waits on, by request id. */
  private readonly carrying = new Map<number, Carried>();
  /** Carried requests this instance serves, by `{replyServer} {requestId}`. */
  private readonly serving = new Map<string, RedisServedRequest>();
  /** This instance's reply channel, subscribed from the start: others probe it to tell it is alive. */
  private readonly replies: Promise<void>;
  private readonly peerProbes: NodeJS.Timeout;
  private nextId = 0;
  private readonly maxServing: number;
  readonly limits: ConnectionRelay['limits'];

  constructor(
    private readonly link: RedisLink,
    /** The backplane's `channelPrefix` (connection ids are unique across hubs, so no hub name). */
    private readonly prefix: string,
    readonly timeout: number,
    { maximumServedRequests, ...limits }: RelayLimits = {},
  ) {
    this.maxServing = maximumServedRequests ?? MAX_SERVING;
    this.limits = limits;
    this.replies = link.listen(this.replyChannelOf(link.serverName), (message) => this.onReply(message));
    this.peerProbes = setInterval(() => void this.probePeers(), PEER_PROBE_INTERVAL).unref();
  }

  /** The backplane closes: no more probes. */
  close(): void {
    clearInterval(this.peerProbes);
  }

  get pending(): { carrying: number; serving: number } {
    return { carrying: this.carrying.size, serving: this.serving.size };
  }

  async carry(connectionId: string, request: CarriedHttpRequest, first: Uint8Array, last: boolean, listener: CarryListener): Promise<CarriedExchange | null> {
    await this.replies;
    const id = ++this.nextId;
    const server = this.link.serverName;
    this.carrying.set(id, { listener, connectionId, since: Date.now(), owner: null });
    const open = [OPEN, server, id, request.method, request.url, request.headers, request.remoteAddress ?? null, first, last];
    let receivers: number;
    try {
      receivers = await this.link.publishCounted(this.transportChannel(connectionId), Buffer.from(encoder.encode(open)));
    } catch (error) {
      this.carrying.delete(id);
      throw error;
    }
    if (receivers === 0) {
      this.carrying.delete(id);
      return null;
    }
    return {
      send: (chunk, final) => this.publish(connectionId, [CHUNK, server, id, chunk, final]),
      abort: () => {
        if (this.carrying.delete(id)) void this.publish(connectionId, [ABORT, server, id]);
      },
      close: () => {
        this.carrying.delete(id);
      },
    };
  }

  serve(connectionId: string, serve: ServeCarried): Promise<void> {
    return this.link.listen(this.transportChannel(connectionId), (message) => this.onCarried(message, serve));
  }

  release(connectionId: string): void {
    this.link.unlisten(this.transportChannel(connectionId));
  }

  /** Forgets a served request; false when it already was. */
  forget(key: string): boolean {
    const served = this.serving.get(key);
    if (served === undefined) return false;
    if (served.heldTimer !== null) clearTimeout(served.heldTimer);
    return this.serving.delete(key);
  }

  reply(channel: string, envelope: unknown[]): void {
    this.link.publish(channel, Buffer.from(encoder.encode(envelope))).catch(() => undefined);
  }

  private transportChannel(connectionId: string): string {
    return `${this.prefix}internal:transport:${connectionId}`;
  }

  private replyChannelOf(server: string): string {
    return `${this.prefix}internal:transport-reply:${server}`;
  }

  private async publish(connectionId: string, envelope: unknown[]): Promise<boolean> {
    try {
      return (await this.link.publishCounted(this.transportChannel(connectionId), Buffer.from(encoder.encode(envelope)))) > 0;
    } catch {
      return false;
    }
  }

  private onCarried(message: Buffer, serve: ServeCarried): void {
    const envelope = decode(message);
    if (envelope === null || typeof envelope[1] !== 'string' || typeof envelope[2] !== 'number') return;
    const [kind, server, id] = envelope as [number, string, number];
    const key = `${server} ${id}`;
    if (kind === CHUNK) return this.serving.get(key)?.chunk(bytes(envelope[3]), envelope[4] === true);
    if (kind === ABORT) return this.serving.get(key)?.abort();
    if (kind !== OPEN || this.serving.has(key)) return;
    const replyChannel = this.replyChannelOf(server);
    if (this.serving.size >= this.maxServing) return this.reply(replyChannel, [ANSWER, id, 503, { 'Content-Type': 'text/plain' }, EMPTY]);
    const request: CarriedHttpRequest = {
      method: String(envelope[3]),
      url: String(envelope[4]),
      headers: (envelope[5] ?? {}) as IncomingHttpHeaders,
      remoteAddress: typeof envelope[6] === 'string' ? envelope[6] : undefined,
    };
    const served = new RedisServedRequest(this, key, server, replyChannel, id, request, bytes(envelope[7]), envelope[8] === true);
    this.serving.set(key, served);
    served.heldTimer = setTimeout(() => {
      served.heldTimer = null;
      if (this.serving.get(key) === served) this.reply(replyChannel, [HELD, id, this.link.serverName]);
    }, HELD_AFTER).unref();
    serve(served);
  }

  private onReply(message: Buffer): void {
    const envelope = decode(message);
    if (envelope === null || typeof envelope[1] !== 'number') return;
    const carried = this.carrying.get(envelope[1]);
    if (carried === undefined) return;
    if (envelope[0] === CREDIT) return carried.listener.credit();
    if (envelope[0] === HELD) return void (carried.owner = typeof envelope[2] === 'string' ? envelope[2] : null);
    if (envelope[0] !== ANSWER) return;
    this.carrying.delete(envelope[1]);
    carried.listener.answer({ status: Number(envelope[2]), headers: (envelope[3] ?? {}) as Record<string, string>, body: bytes(envelope[4]) });
  }

  /**
   * Probes every instance this one waits on or holds requests for; the requests of those gone end.
   * A request whose owner never said HELD (it died within HELD_AFTER of taking it) is probed on its
   * connection's channel instead, which nobody subscribes once the owner is gone.
   */
  private async probePeers(): Promise<void> {
    const peers = new Set<string>();
    const silent = Date.now() - HELD_AFTER - PEER_PROBE_INTERVAL;
    for (const [id, carried] of this.carrying) {
      if (carried.owner !== null) peers.add(carried.owner);
      else if (carried.since < silent && (await this.receivers(this.transportChannel(carried.connectionId))) === 0 && this.carrying.delete(id)) {
        carried.listener.lost();
      }
    }
    for (const served of this.serving.values()) if (served.heldTimer === null) peers.add(served.asker);
    for (const peer of peers) if ((await this.receivers(this.replyChannelOf(peer))) === 0) this.peerGone(peer);
  }

  /** Who hears a probe on `channel`; null while Redis is unreachable (nothing can be told then). */
  private receivers(channel: string): Promise<number | null> {
    return this.link.publishCounted(channel, PROBE_ENVELOPE).catch(() => null);
  }

  private peerGone(peer: string): void {
    for (const [id, carried] of this.carrying) {
      if (carried.owner !== peer) continue;
      this.carrying.delete(id);
      carried.listener.lost();
    }
    for (const served of [...this.serving.values()]) if (served.asker === peer) served.abort();
  }
}
