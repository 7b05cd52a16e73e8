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
 *   [PROBE, replyServer, requestId]   (ignored: its receiver count tells whether the owner is still there)
 * To the asker, on `{channelPrefix}internal:transport-reply:{replyServer}`:
 *   [CREDIT, requestId]
 *   [ANSWER, requestId, status, headers, body]
 */
const OPEN = 0;
const CHUNK = 1;
const ABORT = 2;
const PROBE = 3;
const CREDIT = 0;
const ANSWER = 1;

/**
 * The most carried requests an owner serves at once (a held poll costs about a kilobyte; the body
 * bytes sends hold are bounded by the transports). Beyond it new ones are answered 503.
 */
const MAX_SERVING = 16_384;

const encoder = new Encoder();
const decoder = new Decoder();
const EMPTY = new Uint8Array(0);

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

/** One carried request on its owner. */
class RedisServedRequest implements ServedRequest {
  private events: ServedRequestEvents | null = null;

  constructor(
    private readonly relay: RedisConnectionRelay,
    readonly key: string,
    private readonly replyChannel: string,
    private readonly requestId: number,
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
  private readonly carrying = new Map<number, CarryListener>();
  /** Carried requests this instance serves, by `{replyServer} {requestId}`. */
  private readonly serving = new Map<string, RedisServedRequest>();
  private readonly replyChannel: string;
  private replies: Promise<void> | null = null;
  private nextId = 0;

  constructor(
    private readonly link: RedisLink,
    /** The backplane's `channelPrefix` (connection ids are unique across hubs, so no hub name). */
    private readonly prefix: string,
    readonly timeout: number,
  ) {
    this.replyChannel = this.replyChannelOf(link.serverName);
  }

  get pending(): { carrying: number; serving: number } {
    return { carrying: this.carrying.size, serving: this.serving.size };
  }

  async carry(connectionId: string, request: CarriedHttpRequest, first: Uint8Array, last: boolean, listener: CarryListener): Promise<CarriedExchange | null> {
    await (this.replies ??= this.link.listen(this.replyChannel, (message) => this.onReply(message)));
    const id = ++this.nextId;
    const server = this.link.serverName;
    this.carrying.set(id, listener);
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
      probe: () => this.publish(connectionId, [PROBE, server, id]),
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
    if (this.serving.size >= MAX_SERVING) return this.reply(replyChannel, [ANSWER, id, 503, { 'Content-Type': 'text/plain' }, EMPTY]);
    const request: CarriedHttpRequest = {
      method: String(envelope[3]),
      url: String(envelope[4]),
      headers: (envelope[5] ?? {}) as IncomingHttpHeaders,
      remoteAddress: typeof envelope[6] === 'string' ? envelope[6] : undefined,
    };
    const served = new RedisServedRequest(this, key, replyChannel, id, request, bytes(envelope[7]), envelope[8] === true);
    this.serving.set(key, served);
    serve(served);
  }

  private onReply(message: Buffer): void {
    const envelope = decode(message);
    if (envelope === null || typeof envelope[1] !== 'number') return;
    const listener = this.carrying.get(envelope[1]);
    if (listener === undefined) return;
    if (envelope[0] === CREDIT) return listener.credit();
    this.carrying.delete(envelope[1]);
    listener.answer({ status: Number(envelope[2]), headers: (envelope[3] ?? {}) as Record<string, string>, body: bytes(envelope[4]) });
  }
}
