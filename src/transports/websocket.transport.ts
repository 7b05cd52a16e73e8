import { WebSocket } from 'ws';
import type { ConnectionTransport, TransportEvents, TransportOwner } from '../connection/connection-transport.js';
import { WEBSOCKET_CLOSE_TIMEOUT } from '../signalr.constants.js';

const TEXT_FRAME = { binary: false };
const BINARY_FRAME = { binary: true };
/** Close codes that end a connection cleanly (normal, going away, no status). */
const CLEAN_CLOSE_CODES = new Set([1000, 1001, 1005]);

/** The WebSocket transport: one `ws` socket carrying a connection's messages both ways. */
export class WebSocketTransport<T extends TransportOwner = TransportOwner> implements ConnectionTransport {
  readonly name = 'WebSockets' as const;
  readonly supportsBinary = true;
  private closeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: WebSocket,
    owner: T,
    events: TransportEvents<T>,
  ) {
    // After a stateful re-attach the old socket may still deliver a little: only the current one counts.
    socket.on('message', (data: Buffer, binary: boolean) => {
      if (owner.transport === this) events.receive(owner, data, binary);
    });
    socket.on('close', (code: number) => {
      if (this.closeTimer !== null) clearTimeout(this.closeTimer);
      this.closeTimer = null;
      events.transportClosed(owner, CLEAN_CLOSE_CODES.has(code) ? undefined : abruptClose(), this);
    });
    // Socket errors are followed by 'close', which ends the connection.
    socket.on('error', () => undefined);
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
