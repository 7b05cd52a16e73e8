import { encode } from '@msgpack/msgpack';
import { writeBinaryRecord } from '../../src/protocol/binary-message-format.js';

/** The stacks the generator can speak, each straight over `ws` (no client library). */
export type ProtocolName = 'signalr-json' | 'signalr-msgpack' | 'socketio' | 'raw-ws' | 'nest-ws';

/** What a protocol parser reports back to the connection it reads for. */
export interface FrameSink {
  /** The protocol's handshake completed (SignalR handshake, Socket.IO CONNECT, plain open). */
  ready(): void;
  /** A broadcast arrived carrying the server's send timestamp (NaN when it could not be read). */
  broadcast(sentAt: number): void;
  /** An answer to something this connection sent (completion, ack, echo, join reply). */
  reply(): void;
  /** Something the protocol requires us to answer (Socket.IO's ping). */
  answer(frame: string): void;
}

/**
 * One protocol's wire: the URL path, what to send first, the pre-built frames the workloads send,
 * and a parser that reads only what the workloads need (record kind and the payload's timestamp),
 * so the generator stays much cheaper per message than the servers it loads.
 */
export interface WireProtocol {
  readonly name: ProtocolName;
  readonly path: string;
  /** Negotiate path for the churn workload (SignalR only); the token goes into `?id=`. */
  readonly negotiatePath?: string;
  /** Sent as soon as the socket opens. */
  readonly hello: string | null;
  /** Whether our frames go out as binary. */
  readonly binary: boolean;
  echoFrame(size: number): Buffer;
  /**
   * `count` Echo invocations (ids 1..count) in one frame, as a client sends them when calls queue up
   * faster than its socket writes (SignalR's record framing allows several records per message).
   */
  echoBatch?(size: number, count: number): Buffer;
  joinFrame(group: string): Buffer;
  /** Reads one WebSocket message; `handshaken` says whether ready() was already reported. */
  read(data: Buffer, handshaken: boolean, sink: FrameSink): void;
}

const RS = 0x1e;
const T_KEY = Buffer.from('"t":');
const MSGPACK_T_KEY = Buffer.from([0xa1, 0x74, 0xcb]); // fixstr "t", then a float64

/** Reads the JSON number at `at` (digits, '.', '-', exponent) without allocating. */
function readJsonNumber(data: Buffer, at: number): number {
  let end = at;
  while (end < data.length) {
    const c = data[end];
    if ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x65 || c === 0x45 || c === 0x2b) end++;
    else break;
  }
  return Number(data.toString('latin1', at, end));
}

function jsonTimestamp(data: Buffer, start: number, end: number): number {
  const at = data.indexOf(T_KEY, start);
  return at === -1 || at >= end ? NaN : readJsonNumber(data, at + T_KEY.length);
}

function echoText(size: number): string {
  return 'e'.repeat(Math.max(1, size));
}

/** Reads SignalR's handshake response at the start of `data` and reports ready: where messages begin, or -1 if it is incomplete. */
function afterHandshake(data: Buffer, sink: FrameSink): number {
  const end = data.indexOf(RS);
  if (end === -1) return -1;
  if (end > 2) throw new Error(`handshake refused: ${data.toString('utf8', 0, end)}`);
  sink.ready();
  return end + 1;
}

const signalrJson: WireProtocol = {
  name: 'signalr-json',
  path: '/hubs/bench',
  negotiatePath: '/hubs/bench/negotiate?negotiateVersion=1',
  hello: '{"protocol":"json","version":1}\u001e',
  binary: false,
  echoFrame: (size) => Buffer.from(`{"type":1,"invocationId":"1","target":"Echo","arguments":["${echoText(size)}"]}\u001e`),
  echoBatch: (size, count) =>
    Buffer.from(
      Array.from({ length: count }, (_, i) => `{"type":1,"invocationId":"${i + 1}","target":"Echo","arguments":["${echoText(size)}"]}\u001e`).join(''),
    ),
  joinFrame: (group) => Buffer.from(`{"type":1,"invocationId":"1","target":"Join","arguments":["${group}"]}\u001e`),
  read(data, handshaken, sink) {
    let offset = handshaken ? 0 : afterHandshake(data, sink);
    if (offset === -1) return;
    while (offset < data.length) {
      const end = data.indexOf(RS, offset);
      if (end === -1) return;
      // Our server writes `type` first: `{"type":N` puts the digit at offset + 8.
      const type = data[offset + 8];
      if (type === 0x31) sink.broadcast(jsonTimestamp(data, offset, end));
      else if (type === 0x33) sink.reply();
      offset = end + 1;
    }
  },
};

function msgpackFrame(message: unknown[]): Buffer {
  return writeBinaryRecord(encode(message));
}

const signalrMsgpack: WireProtocol = {
  name: 'signalr-msgpack',
  path: '/hubs/bench',
  negotiatePath: '/hubs/bench/negotiate?negotiateVersion=1',
  hello: '{"protocol":"messagepack","version":1}\u001e',
  binary: true,
  echoFrame: (size) => msgpackFrame([1, {}, '1', 'Echo', [echoText(size)]]),
  echoBatch: (size, count) => Buffer.concat(Array.from({ length: count }, (_, i) => msgpackFrame([1, {}, String(i + 1), 'Echo', [echoText(size)]]))),
  joinFrame: (group) => msgpackFrame([1, {}, '1', 'Join', [group]]),
  read(data, handshaken, sink) {
    let offset = handshaken ? 0 : afterHandshake(data, sink);
    if (offset === -1) return;
    while (offset < data.length) {
      let length = 0;
      let shift = 1;
      let byte: number;
      do {
        byte = data[offset++];
        length += (byte & 0x7f) * shift;
        shift *= 128;
      } while (byte & 0x80);
      const start = offset;
      const end = start + length;
      // A fixarray header, then the message type as a positive fixint.
      const type = data[start + 1];
      if (type === 1) {
        const at = data.indexOf(MSGPACK_T_KEY, start);
        sink.broadcast(at === -1 || at >= end ? NaN : data.readDoubleBE(at + 3));
      } else if (type === 3) sink.reply();
      offset = end;
    }
  },
};

const socketio: WireProtocol = {
  name: 'socketio',
  path: '/socket.io/?EIO=4&transport=websocket',
  hello: null,
  binary: false,
  echoFrame: (size) => Buffer.from(`421["echo","${echoText(size)}"]`),
  joinFrame: (group) => Buffer.from(`421["join","${group}"]`),
  read(data, _handshaken, sink) {
    // Engine.IO v4 over WebSocket: one packet per frame, the packet type first.
    switch (data[0]) {
      case 0x30: // open: ask for the main namespace
        return sink.answer('40');
      case 0x32: // ping
        return sink.answer('3');
      case 0x34: // message: a Socket.IO packet
        switch (data[1]) {
          case 0x30:
            return sink.ready();
          case 0x32:
            return sink.broadcast(jsonTimestamp(data, 2, data.length));
          case 0x33:
            return sink.reply();
          case 0x34:
            throw new Error(`connect error: ${data.toString()}`);
        }
    }
  },
};

const rawWs: WireProtocol = {
  name: 'raw-ws',
  path: '/',
  hello: null,
  binary: false,
  echoFrame: (size) => Buffer.from(`{"echo":"${echoText(size)}"}`),
  joinFrame: (group) => Buffer.from(`{"join":"${group}"}`),
  read(data, _handshaken, sink) {
    if (data[2] === 0x74 /* {"t" */) sink.broadcast(jsonTimestamp(data, 0, data.length));
    else sink.reply();
  },
};

const nestWs: WireProtocol = {
  name: 'nest-ws',
  path: '/ws',
  hello: null,
  binary: false,
  echoFrame: (size) => Buffer.from(`{"event":"echo","data":"${echoText(size)}"}`),
  joinFrame: (group) => Buffer.from(`{"event":"join","data":"${group}"}`),
  read(data, _handshaken, sink) {
    // `{"event":"b"` is a broadcast; anything else answers us.
    if (data[10] === 0x62 && data[11] === 0x22) sink.broadcast(jsonTimestamp(data, 12, data.length));
    else sink.reply();
  },
};

export const WIRE_PROTOCOLS: Record<ProtocolName, WireProtocol> = {
  'signalr-json': signalrJson,
  'signalr-msgpack': signalrMsgpack,
  socketio,
  'raw-ws': rawWs,
  'nest-ws': nestWs,
};
