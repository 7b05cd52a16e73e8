/*
 * WebSocket frames no client library would send, written on a bare TCP socket after a hand-made
 * upgrade: reserved opcodes and bits, unmasked frames, broken fragmentation, oversized or
 * fragmented control frames, absurd length claims, bad close codes, invalid UTF-8; and broken
 * upgrade requests. The server must close (a close frame or a refused upgrade), never hang or die.
 */
import * as net from 'net';
import { Prng } from '../prng.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

interface FrameSpec {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  masked?: boolean;
  payload?: Buffer;
  /** A length to claim instead of the payload's (the bytes do not follow). */
  claim?: bigint;
}

function frame({ fin = true, rsv = 0, opcode, masked = true, payload = Buffer.alloc(0), claim }: FrameSpec): Buffer {
  const length = claim ?? BigInt(payload.length);
  const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const mask = masked ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (length < 126n) head.push(mask | Number(length));
  else if (length < 65536n) {
    head.push(mask | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(Number(length));
  } else {
    head.push(mask | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(length);
  }
  const key = masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), extended, key, body]);
}

const text = (value: string) => Buffer.from(value);
const HANDSHAKE = frame({ opcode: 1, payload: text('{"protocol":"json","version":1}\u001e') });

/** The frames of one case, after a valid upgrade (or the broken upgrade itself). */
function framesFor(rng: Prng): { kind: string; upgrade?: string; bytes: Buffer } {
  switch (rng.int(14)) {
    case 0:
      return { kind: 'reserved-opcode', bytes: frame({ opcode: rng.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), payload: rng.bytes(rng.int(20)) }) };
    case 1:
      return { kind: 'reserved-bits', bytes: frame({ opcode: 1, rsv: 1 + rng.int(7), payload: text('{}') }) };
    case 2:
      return { kind: 'unmasked', bytes: frame({ opcode: 1, masked: false, payload: text('{"protocol":"json","version":1}\u001e') }) };
    case 3:
      return { kind: 'continuation-first', bytes: frame({ opcode: 0, payload: rng.bytes(10) }) };
    case 4:
      return { kind: 'fragmented-control', bytes: frame({ opcode: rng.pick([8, 9, 10]), fin: false, payload: rng.bytes(4) }) };
    case 5:
      return { kind: 'oversized-control', bytes: frame({ opcode: rng.pick([9, 10]), payload: rng.bytes(126 + rng.int(200)) }) };
    case 6:
      return {
        kind: 'huge-length-claim',
        bytes: frame({ opcode: rng.pick([1, 2, 0]), claim: rng.pick([2n ** 63n - 1n, 2n ** 63n, 2n ** 32n, 100_000_000n, 2n ** 64n - 1n]) }),
      };
    case 7: {
      const code = rng.pick([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]);
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      return { kind: 'bad-close-code', bytes: frame({ opcode: 8, payload: rng.chance(0.2) ? Buffer.from([3]) : payload }) };
    }
    case 8:
      return { kind: 'close-invalid-utf8', bytes: frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0xff, 0xfe]) }) };
    case 9:
      return { kind: 'text-invalid-utf8', bytes: Buffer.concat([HANDSHAKE, frame({ opcode: 1, payload: Buffer.from([0x7b, 0xc3, 0x28, 0x1e]) })]) };
    case 10:
      return {
        kind: 'interleaved-fragments',
        bytes: Buffer.concat([frame({ opcode: 1, fin: false, payload: text('{"proto') }), frame({ opcode: 1, payload: text('col"') })]),
      };
    case 11:
      return { kind: 'ping-flood', bytes: Buffer.concat(Array.from({ length: 200 }, () => frame({ opcode: 9, payload: rng.bytes(8) }))) };
    case 12:
      return { kind: 'random-after-upgrade', bytes: Buffer.concat([rng.chance(0.5) ? HANDSHAKE : Buffer.alloc(0), rng.bytes(1 + rng.int(300))]) };
    default: {
      const variants = [
        'Sec-WebSocket-Version: 12\r\n',
        'Sec-WebSocket-Key: short\r\n',
        'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99; x\r\n',
        'Sec-WebSocket-Protocol: a,,b\r\n',
        'Content-Length: 5\r\n',
      ];
      const headers = rng.pick(variants);
      const key = headers.startsWith('Sec-WebSocket-Key') ? '' : `Sec-WebSocket-Key: ${KEY}\r\n`;
      const version = headers.startsWith('Sec-WebSocket-Version') ? '' : 'Sec-WebSocket-Version: 13\r\n';
      return { kind: `bad-upgrade:${headers.slice(0, headers.indexOf(':')).toLowerCase()}`, upgrade: `${key}${version}${headers}`, bytes: HANDSHAKE };
    }
  }
}

/** Sends one case on a new TCP socket; resolves with what the server did. */
export function rawFrameCase(rng: Prng, port: number): Promise<{ kind: string; outcome: string }> {
  const spec = framesFor(rng);
  const { upgrade, bytes } = spec;
  const echo = rng.chance(0.2);
  const path = echo ? '/echo' : '/hubs/fuzz';
  const kind = echo ? `${spec.kind} (raw /echo)` : spec.kind;
  const headers = upgrade ?? `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n`;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (outcome: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ kind, outcome });
    };
    // Long enough for a close to come back; a socket the server keeps open after bad frames is a finding.
    const timer = setTimeout(() => finish(describe(received, true)), 1000);
    socket.on('error', () => finish(describe(received, false)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const outcome = closeFrameOutcome(received);
      if (outcome !== undefined) finish(outcome);
    });
    socket.on('end', () => finish(describe(received, false)));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${headers}\r\n`);
    socket.write(bytes);
  });
}

/** `close <code>` once the server's close frame (after the 101 response) is in. */
function closeFrameOutcome(received: Buffer): string | undefined {
  const headerEnd = received.indexOf('\r\n\r\n');
  if (headerEnd < 0) return undefined;
  const status = received.subarray(0, received.indexOf('\r\n')).toString();
  if (!status.includes(' 101 ')) return `http ${status.split(' ')[1]}`;
  let at = headerEnd + 4;
  while (at + 2 <= received.length) {
    const opcode = received[at] & 0x0f;
    let length = received[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (start + 2 > received.length) return undefined;
      length = received.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      if (start + 8 > received.length) return undefined;
      length = Number(received.readBigUInt64BE(start));
      start += 8;
    }
    if (start + length > received.length) return undefined;
    if (opcode === 8) return `close ${length >= 2 ? received.readUInt16BE(start) : 'without code'}`;
    at = start + length;
  }
  return undefined;
}

function describe(received: Buffer, timedOut: boolean): string {
  const outcome = closeFrameOutcome(received);
  if (outcome !== undefined) return outcome;
  if (received.length === 0) return timedOut ? 'no answer, still open after 1 s' : 'socket closed without an answer';
  const status = received.subarray(0, received.indexOf('\r\n')).toString();
  if (!status.includes(' 101 ')) return `http ${status.split(' ')[1]}`;
  return timedOut ? 'upgraded, still open after 1 s' : 'upgraded, closed without a close frame';
}
