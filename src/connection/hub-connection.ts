import type { HubMessage } from '../protocol/hub-messages.js';
import type { HubProtocol } from '../protocol/hub-protocol.js';
import type { HubRequest } from '../interfaces/hub-request.interface.js';
import type { ResolvedHubOptions } from '../interfaces/signalr-options.interface.js';
import type { ConnectionTransport } from './connection-transport.js';
import { scheduleFlush } from './write-scheduler.js';

export type ConnectionState = 'negotiated' | 'handshaking' | 'connecting' | 'connected' | 'closed';

/** Ends connections for hub code (`abort()`) and for the write path (a slow consumer). */
export interface ConnectionController {
  abort(connection: HubConnection): void;
  sendBufferFull(connection: HubConnection): void;
}

/** Bytes prepared once for every recipient of a send, per hub protocol. */
export interface SerializedMessage {
  bytesFor(protocol: HubProtocol): Buffer;
}

/**
 * One client connection: identity, negotiated protocol, per-connection items, and an ordered write
 * queue that coalesces everything written in one tick into a single transport message.
 */
export class HubConnection {
  state: ConnectionState = 'negotiated';
  transport: ConnectionTransport | null = null;
  request: HubRequest | null = null;
  protocol: HubProtocol | null = null;
  user: unknown = undefined;
  userIdentifier: string | null = null;
  /** When the user's authentication expires (ms since the epoch), with closeOnAuthenticationExpiration; else null. */
  authExpiresAt: number | null = null;
  /** Groups this connection belongs to, so a disconnect never scans all groups. */
  groups: Set<string> | null = null;
  /** State the hub layer keeps per connection (its caller scope). */
  hubScope: unknown = null;
  /** Who ends this connection on request; one reference instead of a closure per connection. */
  controller: ConnectionController | null = null;
  /** Cleared once a slow consumer is being closed, so the Close message itself can go out. */
  private watchSendLimit = true;

  createdAt = Date.now();
  lastReceivedAt = 0;
  lastSentAt = 0;
  /** Client timeout counts only after the client's first Ping, as in ASP.NET Core. */
  clientTimeoutArmed = false;

  /** Unparsed tail of what the transport delivered. */
  receiveBuffer: Buffer | null = null;
  /** Parsed messages waiting for dispatch (sequential per connection). */
  inbound: HubMessage[] | null = null;
  activeInvocations = 0;
  readingPaused = false;
  /** Whether the hub's onConnected completed, so onDisconnected is owed. */
  hubConnected = false;
  /** Why the connection ended; handed to the hub's onDisconnected. */
  closeError: Error | undefined = undefined;
  resolveHandshake: ((succeeded: boolean) => void) | null = null;
  resolveClosed: ((error: Error | undefined) => void) | null = null;

  private itemsMap: Map<unknown, unknown> | null = null;
  private aborter: AbortController | null = null;
  private pendingFirst: Buffer | null = null;
  private pendingRest: Buffer[] | null = null;
  private pendingBytes = 0;

  constructor(
    readonly connectionId: string,
    readonly connectionToken: string,
    readonly hubPath: string,
    readonly options: ResolvedHubOptions,
  ) {}

  /** Per-connection storage for hub code, kept until the connection ends. */
  get items(): Map<unknown, unknown> {
    return (this.itemsMap ??= new Map());
  }

  /** Fires when the connection ends. */
  get abortSignal(): AbortSignal {
    return (this.aborter ??= new AbortController()).signal;
  }

  get isOpen(): boolean {
    return this.state !== 'closed';
  }

  /** Encodes and queues one message. */
  write(message: HubMessage): void {
    if (this.protocol) this.writeBytes(this.protocol.writeMessage(message));
  }

  /** Queues bytes prepared for many recipients; no copy, no allocation beyond the queue slot. */
  writeSerialized(message: SerializedMessage): void {
    if (this.protocol !== null) this.writeBytes(message.bytesFor(this.protocol));
  }

  /** Queues raw bytes; they leave at the end of the tick together with anything else queued. */
  writeBytes(bytes: Buffer): void {
    if (this.transport === null || this.state === 'closed') return;
    if (this.pendingFirst === null) {
      this.pendingFirst = bytes;
      scheduleFlush(this);
    } else {
      (this.pendingRest ??= []).push(bytes);
    }
    this.pendingBytes += bytes.length;
  }

  /** Hands everything queued to the transport as one message. Never throws. */
  flush(): void {
    const first = this.pendingFirst;
    if (first === null) return;
    const rest = this.pendingRest;
    const data = rest === null ? first : Buffer.concat([first, ...rest], this.pendingBytes);
    this.pendingFirst = null;
    this.pendingRest = null;
    this.pendingBytes = 0;
    const transport = this.transport;
    if (transport === null) return;
    if (this.watchSendLimit && transport.bufferedAmount + data.length > this.options.maximumSendBufferSize) {
      // A peer that stops reading must not grow our memory: drop this batch and close it. Cleared
      // first, so the Close message written while closing goes out instead of overflowing again.
      this.watchSendLimit = false;
      this.controller?.sendBufferFull(this);
      return;
    }
    try {
      transport.send(data, this.protocol?.transferFormat === 'Binary');
      this.lastSentAt = Date.now();
    } catch {
      // The transport is already going away; its close event ends the connection.
    }
  }

  /** Marks the connection closed and fires its abort signal. Idempotent. */
  markClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.aborter?.abort();
  }

  /** Drops queued writes and per-connection storage once the connection is over. */
  release(): void {
    this.pendingFirst = null;
    this.pendingRest = null;
    this.pendingBytes = 0;
    this.receiveBuffer = null;
    this.inbound = null;
    this.itemsMap = null;
    this.controller = null;
    this.hubScope = null;
  }
}
