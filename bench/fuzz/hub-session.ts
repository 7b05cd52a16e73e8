/*
 * A handshaken hub connection the fuzzer reuses from case to case (a plain `ws` socket: it must send
 * what no official client would). It reads JSON or MessagePack records, settles waiters on the
 * Completions they wait for, and remembers how the server ended it (Close message, close code).
 */
import { decode } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { encodeRecord, Frame, RS, WireProtocol } from './cases/hub-messages.js';

export class HubSession {
  private readonly waiting = new Map<string, () => void>();
  private pending: Buffer = Buffer.alloc(0);
  /** The Close message's error (or `close` when it had none), once the server sent one. */
  closeMessage: string | undefined;
  closeCode: number | undefined;
  /** Why a frame the server sent could not be read (a server bug), if one could not. */
  unreadable: string | undefined;
  readonly closed: Promise<void>;
  readonly ready: Promise<void>;

  private constructor(
    private readonly socket: WebSocket,
    readonly protocol: WireProtocol,
  ) {
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', (code) => {
        this.closeCode = code;
        resolve();
      }),
    );
    this.ready = new Promise((resolve, reject) => {
      socket.once('open', () => socket.send(`{"protocol":"${protocol}","version":1}${RS}`));
      socket.on('message', (data: Buffer) => {
        if (this.readHandshake(data, resolve, reject)) return;
        try {
          this.read(data);
        } catch (error) {
          this.unreadable = `${(error as Error).message}`.slice(0, 80);
        }
      });
      void this.closed.then(() => reject(new Error(`closed before the handshake (${this.closeCode})`)));
    });
    this.ready.catch(() => undefined);
  }

  static open(url: string, protocol: WireProtocol): HubSession {
    return new HubSession(new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 }), protocol);
  }

  private handshaken = false;

  /** Consumes the handshake response; true while the data belonged to it. */
  private readHandshake(data: Buffer, resolve: () => void, reject: (error: Error) => void): boolean {
    if (this.handshaken) return false;
    const end = data.indexOf(0x1e);
    if (end < 0) return true;
    const response = JSON.parse(data.subarray(0, end).toString());
    this.handshaken = true;
    if (response.error) reject(new Error(response.error));
    else resolve();
    if (end + 1 < data.length) this.read(data.subarray(end + 1));
    return true;
  }

  private read(data: Buffer): void {
    if (this.protocol === 'json') {
      for (const text of data.toString().split(RS)) if (text !== '') this.onMessage(JSON.parse(text));
      return;
    }
    let buffer = this.pending.length > 0 ? Buffer.concat([this.pending, data]) : data;
    for (;;) {
      let length = 0;
      let shift = 0;
      let at = 0;
      for (; at < buffer.length && at < 5; at++) {
        length += (buffer[at] & 0x7f) * 2 ** shift;
        shift += 7;
        if ((buffer[at] & 0x80) === 0) break;
      }
      if (at >= buffer.length || buffer.length < at + 1 + length) break;
      const array = decode(buffer.subarray(at + 1, at + 1 + length)) as unknown[];
      buffer = buffer.subarray(at + 1 + length);
      const type = array[0];
      if (type === 3) this.onMessage({ type, invocationId: array[2] });
      else if (type === 7) this.onMessage({ type, error: array[1] });
    }
    this.pending = buffer;
  }

  private onMessage(message: { type?: unknown; invocationId?: unknown; error?: unknown }): void {
    if (message.type === 3 && typeof message.invocationId === 'string') {
      const wake = this.waiting.get(message.invocationId);
      this.waiting.delete(message.invocationId);
      wake?.();
    } else if (message.type === 7) {
      this.closeMessage = typeof message.error === 'string' ? message.error : 'close';
    }
  }

  /** Resolves once a Completion for `invocationId` arrives (never, if the connection ends first). */
  completion(invocationId: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(invocationId, resolve));
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN && this.closeMessage === undefined;
  }

  send(frame: Frame): void {
    this.socket.send(frame.data, { binary: frame.binary });
  }

  /** A plain Echo invocation with `invocationId`, in this connection's protocol. */
  sendEcho(invocationId: string): void {
    this.send(encodeRecord(this.protocol, { type: 1, invocationId, target: 'Echo', arguments: [invocationId] }));
  }

  terminate(): void {
    this.socket.terminate();
  }
}
