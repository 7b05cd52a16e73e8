import { WebSocket } from 'ws';
import type { ConnectionTransport, TransportEvents, TransportOwner } from '../connection/connection-transport.js';
import { WEBSOCKET_CLOSE_TIMEOUT } from '../signalr.constants.js';

const TEXT_FRAME = { binary: false };
const BINARY_FRAME = { binary: true };
/** Close codes that end a connection cleanly (normal, going away, no status). */
const CLEAN_CLOSE_CODES = new Set([1000, 1001, 1005]);

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

  constructor(
    private readonly socket: WebSocket,
    readonly owner: T,
    readonly events: TransportEvents<T>,
  ) {
    (socket as TransportSocket)[TRANSPORT] = this as unknown as WebSocketTransport<TransportOwner>;
    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.on('error', onError);
  }

  /** The socket closed, whoever closed it. */
  closed(code: number): void {
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.events.transportClosed(this.owner, CLEAN_CLOSE_CODES.has(code) ? undefined : abruptClose(), this);
  }

  send(data: Buffer, binary: boolean): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(data, binary ? BINARY_FRAME : TEXT_FRAME);
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

  resume(): void {
    this.socket.resume();
  }
}

function abruptClose(): Error {
  const error = new Error('The remote party closed the WebSocket connection without completing the close handshake.');
  error.name = 'WebSocketException';
  return error;
}
