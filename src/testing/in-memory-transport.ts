import type { ConnectionTransport, TransportEvents, TransportName, TransportOwner } from '../connection/connection-transport.js';
import { findHandshakeRecord } from '../protocol/handshake-protocol.js';
import type { HubMessage } from '../protocol/hub-messages.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import { JsonHubProtocol } from '../protocol/json-hub-protocol.js';
import { MessagePackHubProtocol } from '../protocol/messagepack-hub-protocol.js';

/**
 * The hub protocols an in-memory client can speak, by their handshake names.
 *
 * @example
 * const peer = new InMemoryPeer('messagepack' satisfies TestProtocolName);
 */
export type TestProtocolName = 'json' | 'messagepack';

/**
 * What the server answered to the handshake: `error` is set when it refused it.
 *
 * @example
 * expect(await peer.readHandshake()).toEqual({ error: "The protocol 'xml' is not supported." });
 */
export interface TestHandshakeResponse {
  error?: string;
}

/**
 * The server's end of an in-memory pipe: a `ConnectionTransport` that hands what the connection
 * sends to its `InMemoryPeer` instead of a socket. Pausing (inbound backpressure) holds the peer's
 * writes until `resume()`, as a paused socket would. Made by its peer; `closeCalls` and `paused`
 * let a test see what the connection loop did with it.
 *
 * @example
 * const peer = await HubTestClient.openPeer(app, ChatHub);
 * peer.writeRaw('{"protocol":"xml","version":1}\u001e');
 * await peer.closed;
 * expect(peer.transport.closeCalls).toEqual([undefined]);
 */
export class InMemoryTransport implements ConnectionTransport {
  closed = false;
  /** Whether the connection asked for a `drained` call once the peer reads again (outbound backpressure). */
  drainWatched = false;
  paused = false;
  /** How often `close` was called, and the close timeout each time (tests of the close path). */
  readonly closeCalls: Array<number | undefined> = [];

  constructor(
    private readonly peer: InMemoryPeer,
    readonly name: TransportName,
    readonly supportsBinary: boolean,
  ) {}

  /** What the peer has not read yet (it holds its reads, as a slow client). */
  get bufferedAmount(): number {
    return this.peer.unreadBytes;
  }

  watchDrain(): void {
    this.drainWatched = true;
  }

  send(data: Buffer): void {
    if (this.closed) throw new Error('The in-memory transport is closed.');
    this.peer.deliver(data);
  }

  close(closeTimeout?: number): void {
    this.closeCalls.push(closeTimeout);
    if (this.closed) return;
    this.closed = true;
    this.peer.serverClosed();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.peer.flushHeld();
  }
}

/**
 * The test's end of an in-memory pipe, as ASP.NET Core's `TestClient`: writes the handshake and hub
 * messages (or raw bytes) the way a client would, and reads what the server sent, decoded with the
 * module's own protocols into hub messages. Nothing goes through a socket; everything goes through
 * the real connection loop.
 *
 * @example
 * const peer = new InMemoryPeer('json');
 * // or: const peer = await HubTestClient.openPeer(app, ChatHub)
 * // ... handed to a connection handler's run() as its transport: peer.transport
 * peer.writeHandshake();
 * expect(await peer.readHandshake()).toEqual({});
 * peer.write({ type: MessageType.Invocation, invocationId: '1', target: 'send', arguments: ['hi'] });
 * expect(await peer.next()).toMatchObject({ type: MessageType.Completion, invocationId: '1' });
 */
export class InMemoryPeer {
  /** The protocol this end encodes and decodes hub messages with. */
  readonly protocol: HubProtocol;
  /** Every hub message the server sent so far, in order (pings included). */
  readonly received: HubMessage[] = [];
  /** Every raw chunk the server sent, in order (handshake response included). */
  readonly chunks: Buffer[] = [];
  /** The server's end; pass it where a `ConnectionTransport` is expected. */
  readonly transport: InMemoryTransport;
  private owner: TransportOwner | null = null;
  private readonly endedSignal: Promise<void>;
  private signalEnded!: () => void;
  private events: TransportEvents<TransportOwner> | null = null;
  private readonly held: Buffer[] = [];
  private holding = false;
  private readonly unread: Buffer[] = [];
  /** Bytes the server sent that this end has not read yet (while it holds its reads). */
  unreadBytes = 0;
  private pending: Buffer = Buffer.alloc(0);
  private handshake: TestHandshakeResponse | null = null;
  private readIndex = 0;
  private readonly waiters: Array<() => void> = [];
  private listener: ((message: HubMessage) => void) | null = null;
  private closedByServer = false;
  private closedByPeer = false;
  private readonly closedSignal: Promise<void>;
  private signalClosed!: () => void;

  constructor(protocol: TestProtocolName | HubProtocol = 'json', options: { transport?: TransportName; supportsBinary?: boolean } = {}) {
    this.protocol = typeof protocol !== 'string' ? protocol : protocol === 'json' ? new JsonHubProtocol() : new MessagePackHubProtocol();
    const transport = options.transport ?? 'WebSockets';
    this.transport = new InMemoryTransport(this, transport, options.supportsBinary ?? transport !== 'ServerSentEvents');
    this.closedSignal = new Promise((resolve) => (this.signalClosed = resolve));
    this.endedSignal = new Promise((resolve) => (this.signalEnded = resolve));
  }

  /** Resolves once the server is done with the connection (onDisconnected completed), when opened by `HubTestClient.openPeer`. */
  get ended(): Promise<void> {
    return this.endedSignal;
  }

  /** The id of the connection on this pipe (`Context.connectionId`), once attached. */
  connectionId: string | null = null;

  /**
   * Binds this end to the connection the server runs on `transport`, and to where its bytes go:
   * `HubTestClient.openPeer` does it; call it yourself only when you start a connection handler by hand.
   */
  attach<T extends TransportOwner>(owner: T, events: TransportEvents<T>): void {
    this.owner = owner;
    this.connectionId = (owner as { connectionId?: string }).connectionId ?? null;
    this.events = events;
  }

  /** Resolves once the server closed the transport. */
  get closed(): Promise<void> {
    return this.closedSignal;
  }

  /** Whether the server closed the transport. */
  get isClosed(): boolean {
    return this.closedByServer;
  }

  /** The handshake request for `protocol` (this end's by default), as a client sends it first. */
  writeHandshake(protocol: string = this.protocol.name, version = 1): void {
    this.writeRaw(`${JSON.stringify({ protocol, version })}\u001e`);
  }

  /** One hub message, encoded with this end's protocol. */
  write(message: HubMessage): void {
    this.writeRaw(this.protocol.writeMessage(message), this.protocol.transferFormat === 'Binary');
  }

  /** Bytes as they would arrive from the network; held while the server paused reading. */
  writeRaw(data: Buffer | string, binary = false): void {
    if (this.owner === null || this.events === null) throw new Error('The in-memory peer is not attached to a connection yet.');
    if (this.closedByPeer || this.closedByServer) return;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.transport.paused) this.held.push(bytes);
    else this.events.receive(this.owner, bytes, binary);
  }

  /** The client goes away (its socket closed or broke, with `error`). */
  disconnect(error?: Error): void {
    if (this.closedByPeer || this.owner === null || this.events === null) return;
    this.closedByPeer = true;
    this.events.transportClosed(this.owner, error, this.transport);
  }

  /**
   * Stops reading what the server sends, as a slow client: it piles up in the transport's
   * `bufferedAmount`, which the server's outbound backpressure watches, until `releaseReads()`.
   */
  holdReads(): void {
    this.holding = true;
  }

  /** Reads everything held, in order, and tells the connection its transport drained (if it asked). */
  releaseReads(): void {
    this.holding = false;
    const chunks = this.unread.splice(0);
    this.unreadBytes = 0;
    for (const chunk of chunks) this.deliver(chunk);
    if (this.transport.drainWatched && this.owner !== null && this.events !== null) {
      this.transport.drainWatched = false;
      this.events.drained?.(this.owner);
    }
  }

  /** The server's handshake response; rejects if the transport closed without one. */
  async readHandshake(): Promise<TestHandshakeResponse> {
    while (this.handshake === null) {
      if (this.closedByServer) throw new Error('The server closed the connection without a handshake response.');
      await this.change();
    }
    return this.handshake;
  }

  /** The next hub message the server sent (after the handshake response); rejects once the transport closed with none left. */
  async next(): Promise<HubMessage> {
    while (this.readIndex >= this.received.length) {
      if (this.closedByServer) throw new Error('The server closed the connection.');
      await this.change();
    }
    return this.received[this.readIndex++];
  }

  /** Calls `listener` with each hub message as it arrives, synchronously with the server's send (one listener). */
  onMessage(listener: (message: HubMessage) => void): void {
    this.listener = listener;
  }

  /** Resolves on the next message, handshake response or close. */
  change(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** @internal The transport's send: decodes the handshake response, then records. */
  deliver(data: Buffer): void {
    if (this.holding) {
      this.unread.push(data);
      this.unreadBytes += data.length;
      return;
    }
    this.chunks.push(data);
    let buffer = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    let offset = 0;
    if (this.handshake === null) {
      const bounds = findHandshakeRecord(buffer);
      if (bounds === null) {
        this.pending = buffer;
        return;
      }
      this.handshake = JSON.parse(buffer.subarray(bounds.start, bounds.end).toString('utf8')) as TestHandshakeResponse;
      offset = bounds.next;
    }
    for (let bounds = this.protocol.findRecord(buffer, offset); bounds !== null; bounds = this.protocol.findRecord(buffer, offset)) {
      offset = bounds.next;
      const message = this.protocol.parseRecord(buffer, bounds.start, bounds.end);
      if (message === null) continue;
      this.received.push(message);
      this.listener?.(message);
    }
    buffer = buffer.subarray(offset);
    this.pending = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
    this.wake();
  }

  /** @internal The server finished the connection. */
  serverEnded(): void {
    this.signalEnded();
  }

  /** @internal The transport closed. */
  serverClosed(): void {
    this.closedByServer = true;
    this.signalClosed();
    this.wake();
  }

  /** @internal Reading resumed: what the peer wrote meanwhile goes in, in order. */
  flushHeld(): void {
    while (this.held.length > 0 && !this.transport.paused && this.owner !== null && this.events !== null) {
      this.events.receive(this.owner, this.held.shift()!, this.protocol.transferFormat === 'Binary');
    }
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
