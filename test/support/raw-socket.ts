import WebSocket from 'ws';
import { Wakeup } from './wait.js';

const RS = '\u001e';

/**
 * A plain WebSocket speaking raw frames, for what the official client cannot express: bad input,
 * exact bytes, frame counts. Every received frame is kept in order.
 */
export class RawSocket {
  readonly frames: Array<{ data: Buffer; binary: boolean }> = [];
  private readonly arrivals = new Wakeup();
  closeCode: number | undefined;
  private closedPromise: Promise<number>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, binary: boolean) => {
      this.frames.push({ data, binary });
      this.arrivals.wake();
    });
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', (code) => {
        this.closeCode = code;
        this.arrivals.wake();
        resolve(code);
      }),
    );
  }

  /** Opens a socket; rejects with the HTTP status when the upgrade is refused. */
  static open(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers });
      socket.once('open', () => resolve(new RawSocket(socket)));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
      });
      socket.once('error', reject);
    });
  }

  /** The status the upgrade gets: 101 when a socket opens (it is dropped at once), else the refusal's. */
  static upgradeStatus(url: string): Promise<number> {
    return RawSocket.open(url).then(
      (raw) => {
        raw.socket.terminate();
        return 101;
      },
      (error: { status?: number }) => error.status ?? -1,
    );
  }

  /** Opens a socket and completes the JSON handshake. */
  static async handshaken(url: string): Promise<RawSocket> {
    const raw = await RawSocket.open(url);
    raw.sendText(`{"protocol":"json","version":1}${RS}`);
    const response = await raw.nextFrame();
    if (response.data.toString() !== `{}${RS}`) throw new Error(`handshake failed: ${response.data.toString()}`);
    return raw;
  }

  sendText(text: string): void {
    this.socket.send(text);
  }

  sendBinary(bytes: Buffer): void {
    this.socket.send(bytes, { binary: true });
  }

  /** Sends each message as a JSON record. */
  send(...messages: object[]): void {
    this.sendText(messages.map((message) => JSON.stringify(message) + RS).join(''));
  }

  private read = 0;

  /** The next frame not yet returned. */
  async nextFrame(): Promise<{ data: Buffer; binary: boolean }> {
    while (this.frames.length <= this.read) {
      if (this.closeCode !== undefined) throw new Error(`socket closed with ${this.closeCode}`);
      await this.arrivals.next();
    }
    return this.frames[this.read++];
  }

  /** The next frame's JSON records, parsed. */
  async nextMessages(): Promise<any[]> {
    const frame = await this.nextFrame();
    return parseRecords(frame.data.toString());
  }

  private pendingRecords: any[] = [];

  /** The next record other than a ping, however the server grouped records into frames. */
  async nextMessage(): Promise<any> {
    while (this.pendingRecords.length === 0) {
      this.pendingRecords.push(...(await this.nextMessages()).filter((m) => m.type !== 6));
    }
    return this.pendingRecords.shift();
  }

  /** The next `count` records other than pings. */
  async nextRecords(count: number): Promise<any[]> {
    const records: any[] = [];
    while (records.length < count) records.push(await this.nextMessage());
    return records;
  }

  closed(): Promise<number> {
    return this.closedPromise;
  }

  close(): void {
    this.socket.close();
  }
}

export function parseRecords(text: string): any[] {
  if (!text.endsWith(RS)) throw new Error(`frame does not end with RS: ${JSON.stringify(text)}`);
  return text
    .slice(0, -1)
    .split(RS)
    .map((record) => JSON.parse(record));
}

export { RS };
