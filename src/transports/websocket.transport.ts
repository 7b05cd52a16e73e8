import type { Duplex } from 'stream';
import { WebSocket } from 'ws';
import type { ConnectionTransport, TransportEvents, TransportOwner } from '../connection/connection-transport.js';
import { WEBSOCKET_CLOSE_TIMEOUT } from '../signalr.constants.js';
import { webSocketCloseError } from '../connection/websocket-close.js';

const TEXT_FRAME = { binary: false };
const BINARY_FRAME = { binary: true };

/**
 * Frames this transport writes itself, to the socket under `ws` (this module performed the upgrade):
 * - A payload up to SMALL_PAYLOAD bytes is framed into one Buffer and written in one call, instead of
 *   `ws` writing a header and the payload under a cork (about 1-2 µs less per message).
 * - A broadcast hands the same Buffer to every recipient's transport in one flush pass: its frame is
 *   made once and written as it is to every further socket.
 * Without compression `ws` writes each of its own frames whole and at once, so frames never interleave.
 * One entry per frame kind, so JSON and MessagePack recipients of a broadcast do not evict each other;
 * entries are forgotten when the pass ends. Only hub connections share frames: their payloads never
 * change once sent, while a raw connection's application may reuse a Buffer it handed over.
 */
const SMALL_PAYLOAD = 4096;

interface SharedFrame {
  payload: Buffer | null;
  frame: Buffer | null;
}
const sharedFrames: [text: SharedFrame, binary: SharedFrame] = [
  { payload: null, frame: null },
  { payload: null, frame: null },
];
let releaseScheduled = false;

function releaseSharedFrames(): void {
  releaseScheduled = false;
  for (const shared of sharedFrames) {
    shared.payload = null;
    shared.frame = null;
  }
}

/**
 * The frame to write for a hub payload, or null when `ws` should frame it: a large payload is framed
 * here only once a second recipient in the same pass shows it is shared.
 */
function sharedFrameOf(data: Buffer, binary: boolean): Buffer | null {
  const shared = sharedFrames[binary ? 1 : 0];
  if (shared.payload === data) return (shared.frame ??= frameOf(data, binary));
  shared.payload = data;
  if (!releaseScheduled) {
    releaseScheduled = true;
    queueMicrotask(releaseSharedFrames);
  }
  return (shared.frame = data.length > SMALL_PAYLOAD ? null : frameOf(data, binary));
}

/** `payload` as one unmasked final frame: text (opcode 1) or binary (opcode 2). */
function frameOf(payload: Buffer, binary: boolean): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = binary ? 0x82 : 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 0x10000) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  payload.copy(frame, headerLength);
  return frame;
}

/** Where a socket's listeners find their transport: shared listeners instead of closures per socket. */
const TRANSPORT = Symbol('transport');
type TransportSocket = WebSocket & { [TRANSPORT]: WebSocketTransport<TransportOwner> };

// After a stateful re-attach the old socket may still deliver a little: only the current one counts.
function onMessage(this: WebSocket, data: Buffer, binary: boolean): void {
  const transport = (this as TransportSocket)[TRANSPORT];
  if (transport.owner.transport === transport) transport.events.receive(transport.owner, data, binary);
}

function onClose(this: WebSocket, code: number): void {
  (this as TransportSocket)[TRANSPORT].closed(code);
}

// Socket errors are followed by 'close', which ends the connection.
function onError(): void {}

/** The WebSocket transport: one `ws` socket carrying a connection's messages both ways. */
export class WebSocketTransport<T extends TransportOwner = TransportOwner> implements ConnectionTransport {
  readonly name = 'WebSockets' as const;
  readonly supportsBinary = true;
  private closeTimer: NodeJS.Timeout | null = null;
  /** Made on the first watchDrain(): only connections that fell behind pay for it. */
  private onDrain: (() => void) | null = null;
  private drainWatched = false;

  constructor(
    private readonly socket: WebSocket,
    readonly owner: T,
    readonly events: TransportEvents<T>,
    /** The TCP socket under `socket` (this module performed the upgrade), for frames written as they are. */
    private readonly stream: Duplex,
    /**
     * Whether a payload sent to several sockets in one pass may share its frame: true where payloads
     * are never changed after sending (hub messages), false where the application's Buffers pass through.
     */
    private readonly sharesFrames = false,
  ) {
    (socket as TransportSocket)[TRANSPORT] = this;
    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.on('error', onError);
  }

  /** The socket closed, whoever closed it. */
  closed(code: number): void {
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.events.transportClosed(this.owner, webSocketCloseError(code), this);
  }

  send(data: Buffer, binary: boolean): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const frame = this.sharesFrames ? sharedFrameOf(data, binary) : data.length <= SMALL_PAYLOAD ? frameOf(data, binary) : null;
    if (frame === null) this.socket.send(data, binary ? BINARY_FRAME : TEXT_FRAME);
    else this.stream.write(frame);
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  close(closeTimeout = WEBSOCKET_CLOSE_TIMEOUT): void {
    const state = this.socket.readyState;
    if (state === WebSocket.CLOSED || state === WebSocket.CLOSING) return;
    this.socket.close(1000);
    // A client that never answers the close frame is cut off, as ASP.NET Core does after CloseTimeout.
    this.closeTimer = setTimeout(() => this.socket.terminate(), closeTimeout);
    this.closeTimer.unref();
  }

  pause(): void {
    this.socket.pause();
  }

  /** Reports the socket's next 'drain' (it wrote out what it held; the connection's tick checks too). */
  watchDrain(): void {
    if (this.drainWatched) return;
    this.drainWatched = true;
    this.onDrain ??= () => {
      this.drainWatched = false;
      this.events.drained?.(this.owner);
    };
    this.stream.once('drain', this.onDrain);
  }

  resume(): void {
    this.socket.resume();
  }
}
