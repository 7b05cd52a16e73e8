import { WebSocket } from 'ws';
import { BroadcastCounter, GeneratorConnection } from './generator-connection.js';
import type { WireProtocol } from './wire-protocols.js';

/** Plain stacks are ready once the socket is open; the others after their own handshake. */
const READY_ON_OPEN = new Set(['raw-ws', 'nest-ws']);

/** One generator connection over a WebSocket: a `ws` client speaking a protocol directly. */
export class LoadConnection extends GeneratorConnection {
  private readonly socket: WebSocket;
  readonly closed: Promise<void>;

  constructor(url: string, protocol: WireProtocol, counter: BroadcastCounter, localAddress?: string) {
    super(protocol, counter);
    this.socket = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, localAddress });
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('open', () => {
      if (protocol.hello !== null) this.socket.send(protocol.hello);
      if (READY_ON_OPEN.has(protocol.name)) this.ready();
    });
    this.socket.on('message', (data: Buffer) => {
      try {
        protocol.read(data, this.handshaken, this);
      } catch (error) {
        this.handshakeFailed(error as Error);
      }
    });
    this.socket.on('error', (error) => this.handshakeFailed(error));
    this.socket.on('close', () => this.handshakeFailed(new Error('closed before the handshake completed')));
  }

  /** Resolves once the protocol handshake is done. */
  opened(): Promise<void> {
    if (this.handshaken) return Promise.resolve();
    return this.handshakeDone();
  }

  answer(frame: string): void {
    this.socket.send(frame);
  }

  get outstanding(): number {
    return this.clock.outstanding;
  }

  /** Sends a pre-built frame that the server answers once (or `answeredBy` times). */
  request(frame: Buffer): void {
    this.clock.sent();
    this.socket.send(frame, { binary: this.protocol.binary });
  }

  /** Stops reading: the kernel buffers fill and the server sees a consumer that does not keep up. */
  stopReading(): void {
    this.socket.pause();
  }

  close(): void {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    // A paused socket never reads the server's close frame, so it is cut instead.
    if (this.socket.isPaused) this.socket.terminate();
    else this.socket.close(1000);
  }

  terminate(): void {
    this.socket.terminate();
  }
}
