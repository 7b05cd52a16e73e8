import { randomBytes } from 'crypto';
import type { AttachAnswer, BridgedOwner, BridgeEvents, BridgeHost, BridgeLink, ConnectionBridge } from '../interfaces/connection-bridge.interface.js';
import type { LinkListener, RedisLink } from './redis-link.js';

/**
 * The bridge of a stateful re-attach over Redis pub/sub (see ConnectionBridge). Channels:
 * - `{prefix}internal:attach:{connectionId}`, subscribed by the owner only while it holds a stateful
 *   connection: a PUBLISH of the attach request that reaches nobody means no instance holds it (404
 *   at once, no timeout); every later message from the socket side goes there too.
 * - `{prefix}internal:bridge:{serverName}`, subscribed by an instance from its first bridged socket
 *   on: the owner's answers and writes for every socket bridged there.
 * Messages are `[kind][bridge id, 8 bytes][...]`: an attach request adds its reply channel (16-bit
 * length first) and the user it acts as; a frame, a binary flag and the payload; a credit, 32 bits; a
 * close, its 16-bit code. One publisher per instance keeps each direction in order.
 *
 * Each side has at most WINDOW bytes of frames in flight, the other's credits giving it back as its
 * frames are taken (written to the client's socket, read by the connection loop), so a side that
 * stops taking stops the other. Each open bridge says PING every HEARTBEAT ms; one that stays silent
 * for SILENCE ms, or a broker outage (messages may have been lost), ends the bridge as a broken
 * socket would (1006).
 */
const Kind = {
  Attach: 1,
  Accept: 2,
  Refuse: 3,
  Frame: 4,
  Credit: 5,
  Close: 6,
  Ping: 7,
} as const;

const ID_BYTES = 8;
const HEAD = 1 + ID_BYTES;
/** Bytes of frames one side may have in flight: a few hundred messages, and what a socket's kernel buffers hold anyway. */
const WINDOW = 256 * 1024;
const HEARTBEAT = 2_000;
const SILENCE = 3 * HEARTBEAT;

/** One bridge as one side keeps it. */
interface Bridge {
  readonly id: Buffer;
  readonly key: string;
  /** Where this side publishes: the connection's attach channel, or the socket side's instance channel. */
  readonly to: string;
  events: BridgeEvents | null;
  heardAt: number;
  /** Socket side, until the owner answered. */
  answer: ((answer: BridgeLink | 403 | 404 | 409) => void) | null;
  /** Owner side: the connection whose bridges it is among. */
  readonly held: HeldConnection | null;
  /** Socket side: bytes of the owner's frames not yet credited back (held by this instance until its socket takes them). */
  holding: number;
}

interface HeldConnection {
  readonly connectionId: string;
  readonly host: BridgeHost;
  readonly bridges: Map<string, Bridge>;
  /** The connection ended: its channel goes with its last bridge (whose transport may still be draining toward its Close). */
  released: boolean;
}

/** A bridge as either side starts it: just heard from, holding nothing, its answer (socket side) set by the caller. */
function bridgeOf(id: Buffer, to: string, held: HeldConnection | null, events: BridgeEvents | null): Bridge {
  return { id, key: id.toString('hex'), to, events, heardAt: Date.now(), answer: null, held, holding: 0 };
}

function message(kind: number, id: Buffer, extra = 0): Buffer {
  const bytes = Buffer.allocUnsafe(HEAD + extra);
  bytes[0] = kind;
  id.copy(bytes, 1);
  return bytes;
}

export class RedisConnectionBridge implements ConnectionBridge, LinkListener {
  private readonly held = new Map<string, HeldConnection>();
  /** Socket side: bridges by id, asked or open. */
  private readonly socketBridges = new Map<string, Bridge>();
  /** Every bridge of both sides, asked or open: what the heartbeat goes round, kept as they come and go. */
  private readonly all = new Set<Bridge>();
  private readonly replyChannel: string;
  private replying: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly link: RedisLink,
    /** The backplane's `channelPrefix`. */
    private readonly prefix: string,
    /** How long the socket side waits for the owner's answer before the upgrade gets 404. */
    private readonly answerTimeout: number,
  ) {
    this.replyChannel = `${prefix}internal:bridge:${link.serverName}`;
    link.addListener(this);
  }

  /** Bridges open or asked, both sides: for leak checks. */
  get size(): number {
    return this.all.size;
  }

  /** Sockets bridged from this instance to their connections' owners. */
  get sockets(): number {
    return this.socketBridges.size;
  }

  /** What the owners sent that this instance's sockets have not taken yet. */
  get bufferedBytes(): number {
    let bytes = 0;
    for (const bridge of this.socketBridges.values()) bytes += bridge.holding;
    return bytes;
  }

  hold(connectionId: string, host: BridgeHost): () => void {
    const channel = this.attachChannel(connectionId);
    const held: HeldConnection = { connectionId, host, bridges: new Map(), released: false };
    this.held.set(connectionId, held);
    void this.link.listen(channel, (bytes) => this.fromSocketSide(held, bytes));
    return () => {
      held.released = true;
      this.dropIfDone(held);
    };
  }

  /** A released connection's channel is unsubscribed once no bridge of it is left. */
  private dropIfDone(held: HeldConnection): void {
    if (!held.released || held.bridges.size > 0 || this.held.get(held.connectionId) !== held) return;
    this.held.delete(held.connectionId);
    this.link.unlisten(this.attachChannel(held.connectionId));
  }

  async attach(connectionId: string, owner: BridgedOwner, events: BridgeEvents): Promise<BridgeLink | 403 | 404 | 409> {
    await (this.replying ??= this.link.listen(this.replyChannel, (bytes) => this.fromOwner(bytes)));
    const id = randomBytes(ID_BYTES);
    const bridge = bridgeOf(id, this.attachChannel(connectionId), null, events);
    const answered = new Promise<BridgeLink | 403 | 404 | 409>((resolve) => (bridge.answer = resolve));
    this.socketBridges.set(bridge.key, bridge);
    this.all.add(bridge);
    const reply = Buffer.from(this.replyChannel);
    const request = Buffer.concat([message(Kind.Attach, id, 2), reply, Buffer.from(owner)]);
    request.writeUInt16BE(reply.length, HEAD);
    const receivers = await this.link.publishCounted(bridge.to, request).catch(() => 0);
    if (receivers === 0) {
      this.settle(bridge, 404);
      return answered;
    }
    const timer = setTimeout(() => {
      // An owner that answers later finds nobody: its side ends on silence, or on this Close.
      this.sendLast(bridge, Kind.Close, 1006);
      this.settle(bridge, 404);
    }, this.answerTimeout).unref();
    return answered.finally(() => clearTimeout(timer));
  }

  up(): void {}

  /**
   * The backplane closes (shutdown, after this instance's connections ended): sockets still bridged
   * from here are cut off, so that their clients re-attach through another instance.
   */
  close(): void {
    this.down();
  }

  /** Messages may have been lost: every bridge ends as a broken socket. */
  down(): void {
    for (const held of this.held.values()) for (const bridge of [...held.bridges.values()]) this.end(bridge, 1006);
    for (const bridge of [...this.socketBridges.values()]) this.end(bridge, 1006);
  }

  private attachChannel(connectionId: string): string {
    return `${this.prefix}internal:attach:${connectionId}`;
  }

  /** The owner answered an attach request (or it was refused on the way): resolved once. */
  private settle(bridge: Bridge, answer: BridgeLink | 403 | 404 | 409): void {
    const resolve = bridge.answer;
    if (resolve === null) return;
    bridge.answer = null;
    if (typeof answer === 'number') this.forget(bridge);
    else this.startHeartbeat();
    resolve(answer);
  }

  private fromSocketSide(held: HeldConnection, bytes: Buffer): void {
    if (bytes.length < HEAD) return;
    const key = bytes.toString('hex', 1, HEAD);
    if (bytes[0] === Kind.Attach) return this.attachRequested(held, key, bytes);
    const bridge = held.bridges.get(key);
    if (bridge !== undefined) this.heard(bridge, bytes);
  }

  private attachRequested(held: HeldConnection, key: string, bytes: Buffer): void {
    if (bytes.length < HEAD + 2 || held.bridges.has(key)) return;
    const replyEnd = HEAD + 2 + bytes.readUInt16BE(HEAD);
    const bridge = bridgeOf(Buffer.from(bytes.subarray(1, HEAD)), bytes.toString('utf8', HEAD + 2, replyEnd), held, null);
    // Registered first: the host's accept writes at once (the Sequence, the replay) through the link.
    held.bridges.set(key, bridge);
    this.all.add(bridge);
    let answer: AttachAnswer;
    try {
      answer = held.host.attach(bytes.toString('utf8', replyEnd), this.linkOf(bridge));
    } catch {
      answer = 404;
    }
    if (typeof answer === 'number') {
      held.bridges.delete(key);
      this.all.delete(bridge);
      this.dropIfDone(held);
      return this.sendLast(bridge, Kind.Refuse, answer);
    }
    bridge.events = answer;
    this.send(bridge, message(Kind.Accept, bridge.id));
    this.startHeartbeat();
  }

  private fromOwner(bytes: Buffer): void {
    if (bytes.length < HEAD) return;
    const bridge = this.socketBridges.get(bytes.toString('hex', 1, HEAD));
    if (bridge === undefined) return;
    if (bytes[0] === Kind.Accept) return this.settle(bridge, this.linkOf(bridge));
    if (bytes[0] === Kind.Refuse) {
      const status = bytes.length >= HEAD + 2 ? bytes.readUInt16BE(HEAD) : 404;
      return this.settle(bridge, status === 403 || status === 409 ? status : 404);
    }
    this.heard(bridge, bytes);
  }

  /** Frames, credits, pings and the end, from the other side of an open bridge. */
  private heard(bridge: Bridge, bytes: Buffer): void {
    bridge.heardAt = Date.now();
    const events = bridge.events;
    switch (bytes[0]) {
      case Kind.Frame:
        if (bytes.length <= HEAD) break;
        if (bridge.held === null) bridge.holding += bytes.length - HEAD - 1;
        events?.frame(bytes.subarray(HEAD + 1), bytes[HEAD] === 1);
        break;
      case Kind.Credit:
        if (bytes.length >= HEAD + 4) events?.credit(bytes.readUInt32BE(HEAD));
        break;
      case Kind.Close:
        // Before the owner's answer, a Close is its refusal (end() then answers 404).
        this.end(bridge, bytes.length >= HEAD + 2 ? bytes.readUInt16BE(HEAD) : 1006);
        break;
    }
  }

  private linkOf(bridge: Bridge): BridgeLink {
    return {
      window: WINDOW,
      frame: (data, binary) => {
        const bytes = message(Kind.Frame, bridge.id, 1 + data.length);
        bytes[HEAD] = binary ? 1 : 0;
        data.copy(bytes, HEAD + 1);
        this.send(bridge, bytes);
      },
      credit: (credited) => {
        if (bridge.held === null) bridge.holding = Math.max(0, bridge.holding - credited);
        const bytes = message(Kind.Credit, bridge.id, 4);
        bytes.writeUInt32BE(credited, HEAD);
        this.send(bridge, bytes);
      },
      close: (code) => {
        if (this.forget(bridge)) this.sendLast(bridge, Kind.Close, code);
      },
    };
  }

  /** Publishes on an open bridge; one that cannot be published to (the broker is down) ends as a broken socket. */
  private send(bridge: Bridge, bytes: Buffer): void {
    this.link.publish(bridge.to, bytes).catch(() => this.end(bridge, 1006));
  }

  /**
   * A bridge's last message, `[kind][id][16-bit code]` (a refusal's status, a Close's code), as this
   * side drops it: a failed publish leaves nothing to end.
   */
  private sendLast(bridge: Bridge, kind: number, code: number): void {
    const bytes = message(kind, bridge.id, 2);
    bytes.writeUInt16BE(code, HEAD);
    void this.link.publish(bridge.to, bytes).catch(() => undefined);
  }

  /** Ends a bridge from this side's view: its events hear `code` (a pending attach gets 404). */
  private end(bridge: Bridge, code: number): void {
    if (!this.forget(bridge)) return;
    if (bridge.answer !== null) this.settle(bridge, 404);
    else bridge.events?.closed(code);
  }

  /** Drops the bridge; false when it was gone already. */
  private forget(bridge: Bridge): boolean {
    const bridges = bridge.held?.bridges ?? this.socketBridges;
    if (bridges.get(bridge.key) !== bridge) return false;
    bridges.delete(bridge.key);
    this.all.delete(bridge);
    if (bridge.held !== null) this.dropIfDone(bridge.held);
    this.stopHeartbeatIfIdle();
    return true;
  }

  private startHeartbeat(): void {
    if (this.heartbeat !== null) return;
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT);
    this.heartbeat.unref();
  }

  private stopHeartbeatIfIdle(): void {
    if (this.heartbeat === null || this.size > 0) return;
    clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private beat(): void {
    const now = Date.now();
    for (const bridge of [...this.all]) {
      if (bridge.answer !== null) continue;
      if (now - bridge.heardAt > SILENCE) this.end(bridge, 1006);
      else this.send(bridge, message(Kind.Ping, bridge.id));
    }
  }
}
