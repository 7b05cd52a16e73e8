import { HubMessage, MessageType } from '../protocol/hub-messages.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import type { SerializedMessage } from '../protocol/serialized-message.js';
import type { ResolvedHubOptions } from '../interfaces/hub-options.interface.js';
import type { InvocationSlot } from './invocation-slot.js';
import type { ConnectionTransport } from './connection-transport.js';
import { isSequenced, MessageReplay } from './message-replay.js';
import { tickOf, timeOf, TransportConnection } from './transport-connection.js';
import { scheduleFlush } from './write-scheduler.js';
import { connectionTelemetry } from '../observability/connection-telemetry.js';

/**
 * How many times maximumSendBufferSize a client already over the limit may have buffered before a
 * batch closes it at once: memory per connection stays bounded whatever the broadcasts' rate.
 */
export const SEND_BUFFER_CEILING = 2;

/** Ends connections for hub code (`abort()`) and for the write path (a slow consumer). */
export interface ConnectionController {
  abort(connection: HubConnection): void;
  sendBufferFull(connection: HubConnection): void;
  /** A send left the transport over the send limit, or dispatch waits for it to drain: checks which. */
  checkSendBuffer(connection: HubConnection): void;
  /** Gives an invocation's slot back before the invocation ends (it awaits a client result). */
  releaseInvocationSlot(connection: HubConnection, slot: InvocationSlot): void;
}

/**
 * One hub connection (ASP.NET Core's HubConnectionContext): the transport connection it extends,
 * plus the negotiated hub protocol, the user's identifier, groups, the ordered write queue that
 * coalesces everything written in one tick into one transport message, and the connection loop's
 * state (see hub-connection-lifecycle.ts for how `state` moves).
 */
export class HubConnection extends TransportConnection<ResolvedHubOptions> {
  protocol: HubProtocol | null = null;
  userIdentifier: string | null = null;
  /** When the user's authentication expires (ms since the epoch), with closeOnAuthenticationExpiration; else null. */
  authExpiresAt: number | null = null;
  /** Groups this connection belongs to, so a disconnect never scans all groups. */
  groups: Set<string> | null = null;
  /** State the hub layer keeps per connection (its caller scope). */
  hubScope: unknown = null;
  /** Who ends this connection on request; one reference instead of a closure per connection. */
  controller: ConnectionController | null = null;
  /** Set by negotiate when the client asked for stateful reconnect and the hub allows it. */
  statefulRequested = false;
  /** Replay state once stateful reconnect is in use (WebSockets, handshake version 2); else null. */
  replay: MessageReplay | null = null;
  /** Cleared once a slow consumer is being closed, so the Close message itself can go out. */
  watchSendLimit = true;
  /** Invocations wait: the client has more than maximumSendBufferSize bytes to read (outbound backpressure). */
  sendPaused = false;
  /** Since when (a tick) the transport holds more than maximumSendBufferSize; 0 while it does not. */
  private sendFullTick = 0;

  // The times below are kept as ticks (transport-connection.ts): small integers stored in the object itself, where
  // Date.now() values would be a boxed heap number each (48 B per connection).
  private receivedTick = 0;
  private sentTick = 0;
  /** 0 while attached. */
  private detachedTick = 0;
  /** Client timeout counts only after the client's first Ping, as in ASP.NET Core. */
  clientTimeoutArmed = false;

  /** Unparsed tail of what the transport delivered. */
  receiveBuffer: Buffer | null = null;
  /** Parsed messages waiting for dispatch (sequential per connection). */
  inbound: HubMessage[] | null = null;
  activeInvocations = 0;
  /** Whether the hub's onConnected completed, so onDisconnected is owed. */
  hubConnected = false;
  /** Why the connection ended; handed to the hub's onDisconnected. */
  closeError: Error | undefined = undefined;

  private pendingFirst: Buffer | null = null;
  private pendingRest: Buffer[] | null = null;
  private pendingBytes = 0;

  /** When bytes last arrived (ms since the epoch). */
  get lastReceivedAt(): number {
    return timeOf(this.receivedTick);
  }
  set lastReceivedAt(time: number) {
    this.receivedTick = tickOf(time);
  }

  /** When bytes last left (ms since the epoch). */
  get lastSentAt(): number {
    return timeOf(this.sentTick);
  }
  set lastSentAt(time: number) {
    this.sentTick = tickOf(time);
  }

  /** Since when the transport holds more than maximumSendBufferSize (ms since the epoch); 0 while it does not. */
  get sendFullSince(): number {
    return this.sendFullTick === 0 ? 0 : timeOf(this.sendFullTick);
  }
  set sendFullSince(time: number) {
    this.sendFullTick = time === 0 ? 0 : tickOf(time);
  }

  /** Bytes written this tick and not yet handed to the transport. */
  get queuedBytes(): number {
    return this.pendingBytes;
  }

  /** When a stateful connection lost its WebSocket (awaiting a re-attach), ms since the epoch; 0 while attached. */
  get detachedAt(): number {
    return this.detachedTick === 0 ? 0 : timeOf(this.detachedTick);
  }
  set detachedAt(time: number) {
    this.detachedTick = time === 0 ? 0 : tickOf(time);
  }

  /** A parsed message waits for dispatch, in order; too many waiting pause the transport. */
  queueInbound(message: HubMessage): void {
    const queue = (this.inbound ??= []);
    queue.push(message);
    this.inboundQueued(queue.length);
  }

  /** Encodes and queues one message. */
  write(message: HubMessage): void {
    if (this.protocol === null) return;
    const bytes = this.protocol.writeMessage(message);
    if (this.replay !== null && isSequenced(message.type)) this.writeSequenced(bytes);
    else this.writeBytes(bytes);
  }

  /** Queues an invocation prepared for many recipients; no copy, no allocation beyond the queue slot. */
  writeSerialized(message: SerializedMessage): void {
    if (this.protocol === null) return;
    const bytes = message.bytesFor(this.protocol);
    if (bytes === null) return; // the send's caller learns of it (sendOutcome)
    if (this.replay !== null) this.writeSequenced(bytes);
    else this.writeBytes(bytes);
  }

  /** Queues raw bytes; they leave at the end of the tick together with anything else queued. */
  writeBytes(bytes: Buffer): void {
    if (this.transport === null || this.state === 'closed' || this.detachedAt !== 0) return;
    if (this.pendingFirst === null) {
      this.pendingFirst = bytes;
      scheduleFlush(this);
    } else if (this.pendingRest === null) {
      this.pendingRest = [this.pendingFirst, bytes];
    } else {
      this.pendingRest.push(bytes);
    }
    this.pendingBytes += bytes.length;
    connectionTelemetry.sent(this.protocol, bytes.length);
  }

  /** The client acknowledged messages up to `sequenceId`: they are dropped and waiting ones may go. */
  acknowledge(sequenceId: number): void {
    const replay = this.replay;
    if (replay === null) return;
    replay.acknowledge(sequenceId);
    if (this.detachedAt === 0) this.sendReleased(replay);
    // Acknowledged bytes no longer count against the send limit: invocations that waited may go on.
    if (this.sendPaused || this.sendFullTick !== 0) this.controller?.checkSendBuffer(this);
  }

  /**
   * A new WebSocket took over a stateful connection: the Sequence message goes first, then every
   * message the client has not acknowledged, in order.
   */
  attach(transport: ConnectionTransport): void {
    const replay = this.replay!;
    this.transport = transport;
    this.detachedAt = 0;
    this.lastReceivedAt = Date.now();
    // What the old socket left half-read or unsent is void: the replay covers what matters.
    this.receiveBuffer = null;
    this.pendingFirst = null;
    this.pendingRest = null;
    this.pendingBytes = 0;
    this.writeBytes(this.protocol!.writeMessage({ type: MessageType.Sequence, sequenceId: replay.rewind() }));
    this.sendReleased(replay);
  }

  /** Keeps a sequenced message for replay; it goes out now unless detached or the unacknowledged window is full. */
  private writeSequenced(bytes: Buffer): void {
    const replay = this.replay!;
    if (replay.add(bytes)) this.writeBytes(bytes);
    // Waiting for acks counts against the send limit: over it the time runs (the tick closes the
    // connection after sendBufferTimeout), and past the ceiling it is closed at once.
    const limit = this.options.maximumSendBufferSize;
    if (this.watchSendLimit && replay.keptBytes > limit) {
      if (replay.keptBytes > limit * SEND_BUFFER_CEILING) this.controller?.sendBufferFull(this);
      else if (this.sendFullTick === 0) this.sendFullSince = Date.now();
    }
  }

  private sendReleased(replay: MessageReplay): void {
    for (let bytes = replay.nextToSend(); bytes !== null; bytes = replay.nextToSend()) this.writeBytes(bytes);
  }

  /** Hands everything queued to the transport as one message. Never throws. */
  flush(): void {
    const first = this.pendingFirst;
    if (first === null) return;
    const rest = this.pendingRest;
    const data = rest === null ? first : Buffer.concat(rest, this.pendingBytes);
    this.pendingFirst = null;
    this.pendingRest = null;
    this.pendingBytes = 0;
    const transport = this.transport;
    if (transport === null) return;
    const limit = this.options.maximumSendBufferSize;
    const buffered = this.watchSendLimit ? transport.bufferedAmount : 0;
    // A client that reads (at most `limit` bytes still buffered) gets every batch, however large: its
    // dispatch waits instead. One already behind is closed at once when the batch would take it past
    // SEND_BUFFER_CEILING times the limit (broadcasts to a peer that stopped reading), else after
    // `sendBufferTimeout` over the limit (the tick's check).
    if (buffered > limit && buffered + data.length > limit * SEND_BUFFER_CEILING) {
      this.controller?.sendBufferFull(this);
      return;
    }
    try {
      transport.send(data, this.protocol?.transferFormat === 'Binary');
      this.lastSentAt = Date.now();
    } catch {
      // The transport is already going away; its close event ends the connection.
    }
    if (this.sendPaused || buffered + data.length > limit) this.controller?.checkSendBuffer(this);
  }

  /** Drops queued writes and per-connection storage once the connection is over. */
  override release(): void {
    super.release();
    this.pendingFirst = null;
    this.pendingRest = null;
    this.pendingBytes = 0;
    this.receiveBuffer = null;
    this.inbound = null;
    this.controller = null;
    this.hubScope = null;
    this.replay = null;
  }
}
