/*
 * Hub messages for a handshaken connection, JSON or MessagePack: mutations of valid messages (field
 * types, unknown types, ids, nesting, sizes, then bytes: truncation, bit flips, splices, length
 * claims) and valid-but-odd invocations that must each be answered with a Completion.
 */
import { encode } from '@msgpack/msgpack';
import { Prng } from '../prng.js';

export type WireProtocol = 'json' | 'messagepack';

/** A WebSocket data frame: text frames may carry any bytes (invalid UTF-8 included). */
export interface Frame {
  data: Buffer | string;
  binary: boolean;
}

/** One case: the frames to send after the handshake, and the invocation ids that must be answered. */
export interface HubCase {
  kind: string;
  frames: Frame[];
  mustAnswer: string[];
  /** The case may leave an invocation waiting (an upload), so no later message is answered. */
  mayHold: boolean;
}

const RS = '\u001e';
/** The server's default maximumReceiveMessageSize. */
export const RECEIVE_LIMIT = 32 * 1024;

const TARGETS = [
  'Echo',
  'Add',
  'Odd',
  'Fail',
  'Crash',
  'Send',
  'Counter',
  'Upload',
  'Wait',
  'echo',
  'ECHO',
  'NoSuch',
  '',
  'Echo\u0000',
  'é',
  'x'.repeat(300),
  'constructor',
  '__proto__',
  'toString',
  'onConnected',
];
const ODD_KINDS = ['bigint', 'circular', 'function', 'symbol', 'date', 'map', 'typed', 'nan', 'deep', 'throwing-getter', 'to-json-throws', 'plain'];
/** The results both protocols can write. */
const WRITABLE_KINDS = ['date', 'map', 'typed', 'nan', 'plain'];

/**
 * Case families that can be left out, for a tree with the bug they find still open: results the
 * protocol cannot write (they must still get an error Completion) and MessagePack headers that
 * claim millions of items (the decoder must not allocate for the claim).
 */
export const AVOIDABLE = ['unwritable-results', 'messagepack-length-claims'] as const;
export type Avoidable = (typeof AVOIDABLE)[number];

/** Values of every shape a field could wrongly hold; `small` keeps them well under the size limit. */
function oddField(rng: Prng, small = false): unknown {
  switch (rng.int(14)) {
    case 0:
      return null;
    case 1:
      return rng.int(2) === 0;
    case 2:
      return -rng.int(1e9);
    case 3:
      return rng.next() / 7;
    case 4:
      return 2 ** 53 + rng.int(1000);
    case 5:
      return 'x'.repeat(rng.int(64));
    case 6:
      return 'y'.repeat(1000 + rng.int(small ? 1000 : 30_000));
    case 7:
      return [];
    case 8:
      return {};
    case 9:
      return { type: 1, target: 'Echo' };
    case 10:
      return [1, 2, [3]];
    case 11:
      return '\ud800';
    case 12:
      return 1e308 * 10;
    default:
      return String.fromCharCode(rng.int(0x10000));
  }
}

function nested(depth: number, leaf: unknown, asObject: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asObject ? { a: value } : [value];
  return value;
}

/** A valid message of a random type, as a plain object in the JSON protocol's shape. */
function validMessage(rng: Prng, id: string): Record<string, unknown> {
  const target = rng.pick(TARGETS.slice(0, 9));
  switch (rng.int(9)) {
    case 0:
    case 1:
    case 2:
      return { type: 1, invocationId: id, target, arguments: [rng.int(100)] };
    case 3:
      return { type: 4, invocationId: id, target: 'Counter', arguments: [rng.int(5)] };
    case 4:
      return { type: 1, invocationId: id, target: 'Upload', arguments: [], streamIds: [`s${id}`] };
    case 5:
      return { type: 2, invocationId: `s${id}`, item: rng.int(10) };
    case 6:
      return { type: 3, invocationId: id, result: 1 };
    case 7:
      return { type: 5, invocationId: id };
    default:
      return rng.pick([{ type: 6 }, { type: 7 }, { type: 7, error: 'x', allowReconnect: true }, { type: 8, sequenceId: 1 }, { type: 9, sequenceId: 1 }]);
  }
}

/** The MessagePack protocol's array for a message object (unknown fields dropped, odd ones kept). */
function asMessagePackArray(message: Record<string, unknown>): unknown[] {
  const headers = message.headers ?? {};
  const id = 'invocationId' in message ? message.invocationId : null;
  switch (message.type) {
    case 1:
    case 4: {
      const array = [message.type, headers, id, message.target, message.arguments];
      if ('streamIds' in message) array.push(message.streamIds);
      return array;
    }
    case 2:
      return [2, headers, id, message.item];
    case 3:
      if ('error' in message) return [3, headers, id, 1, message.error];
      return 'result' in message ? [3, headers, id, 3, message.result] : [3, headers, id, 2];
    case 5:
      return [5, headers, id];
    case 6:
      return [6];
    case 7:
      return [7, message.error ?? null, message.allowReconnect ?? false];
    case 8:
    case 9:
      return [message.type, message.sequenceId];
    default:
      return [message.type, headers, id, ...Object.values(message)];
  }
}

function varint(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length & 0x7f;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

/** One record on the wire: JSON text with its RS, or a MessagePack body with its length prefix. */
export function encodeRecord(protocol: WireProtocol, message: Record<string, unknown> | unknown[]): Frame {
  if (protocol === 'json') return { data: JSON.stringify(message) + RS, binary: false };
  const body = Buffer.from(encode(Array.isArray(message) ? message : asMessagePackArray(message), { ignoreUndefined: true, maxDepth: 100_000 }));
  return { data: Buffer.concat([varint(body.length), body]), binary: true };
}

/** A MessagePack container or string header claiming far more than follows (the decoder must not believe it). */
function hugeClaim(rng: Prng): Buffer {
  const n = rng.pick([0xffff, 0x2000000, 0x7fffffff, 0xffffffff]);
  const header = Buffer.alloc(5);
  header[0] = rng.pick([0xdd, 0xdf, 0xdb, 0xc6, 0xdc, 0xde, 0xda, 0xc5]);
  if (header[0] === 0xdc || header[0] === 0xde || header[0] === 0xda || header[0] === 0xc5) {
    header.writeUInt16BE(n & 0xffff, 1);
    return header.subarray(0, 3);
  }
  header.writeUInt32BE(n >>> 0, 1);
  return header;
}

function mutateBytes(rng: Prng, bytes: Buffer): { kind: string; bytes: Buffer } {
  const copy = Buffer.from(bytes);
  switch (rng.int(5)) {
    case 0:
      return { kind: 'truncate', bytes: copy.subarray(0, rng.int(copy.length)) };
    case 1: {
      const flips = 1 + rng.int(8);
      for (let i = 0; i < flips; i++) copy[rng.int(copy.length)] ^= 1 << rng.int(8);
      return { kind: 'bitflip', bytes: copy };
    }
    case 2: {
      const at = rng.int(copy.length + 1);
      return { kind: 'splice', bytes: Buffer.concat([copy.subarray(0, at), rng.bytes(1 + rng.int(16)), copy.subarray(at)]) };
    }
    case 3: {
      const at = rng.int(copy.length);
      return { kind: 'delete', bytes: Buffer.concat([copy.subarray(0, at), copy.subarray(at + 1 + rng.int(4))]) };
    }
    default:
      return { kind: 'garbage', bytes: rng.bytes(1 + rng.int(200)) };
  }
}

/**
 * Valid-but-odd invocations: each must be answered (result or error), none may close the connection.
 * They stay within the protocol (under the size limit, non-empty header values as ASP.NET Core requires).
 */
function oddInvocation(rng: Prng, id: string, protocol: WireProtocol, avoid: readonly Avoidable[]): { kind: string; message: Record<string, unknown> } {
  switch (rng.int(10)) {
    case 0:
      return { kind: 'unknown-method', message: { type: 1, invocationId: id, target: rng.pick(TARGETS.slice(9)), arguments: [] } };
    case 1:
      return { kind: 'argument-count', message: { type: 1, invocationId: id, target: 'Add', arguments: Array.from({ length: rng.int(5) }, () => 1) } };
    case 2:
      return { kind: 'argument-types', message: { type: 1, invocationId: id, target: 'Add', arguments: [oddField(rng, true), oddField(rng, true)] } };
    case 3: {
      const kind = rng.pick(avoid.includes('unwritable-results') ? WRITABLE_KINDS : ODD_KINDS);
      return { kind: `odd-result:${kind}`, message: { type: 1, invocationId: id, target: 'Odd', arguments: [kind] } };
    }
    case 4:
      return { kind: 'hub-exception', message: { type: 1, invocationId: id, target: rng.pick(['Fail', 'Crash']), arguments: [oddField(rng, true)] } };
    case 5:
      return { kind: 'stream-via-invoke', message: { type: 1, invocationId: id, target: 'Counter', arguments: [rng.int(3)] } };
    case 6:
      return { kind: 'invoke-via-stream', message: { type: 4, invocationId: id, target: rng.pick(['Echo', 'Add', 'Odd']), arguments: [1] } };
    case 7:
      return { kind: 'upload-without-stream', message: { type: 1, invocationId: id, target: 'Upload', arguments: [] } };
    case 8:
      return {
        kind: 'odd-headers',
        message: { type: 1, invocationId: id, target: 'Echo', arguments: [1], headers: { [String(rng.next())]: 'v', a: 'b'.repeat(1 + rng.int(1000)) } },
      };
    default: {
      // Within the server's nesting limit of 500 levels (the message and its arguments array take two).
      const depth = protocol === 'json' ? 1 + rng.int(480) : 1 + rng.int(40);
      return {
        kind: 'odd-argument',
        message: { type: 1, invocationId: id, target: 'Echo', arguments: [rng.chance(0.5) ? nested(depth, 1, rng.chance(0.5)) : oddField(rng, true)] },
      };
    }
  }
}

/** Structural mutations of a valid message, before it is encoded. */
function mutateMessage(rng: Prng, message: Record<string, unknown>, protocol: WireProtocol): string {
  // Past the server's limit of 500 levels now and then, within what this side can encode.
  const deepLimit = protocol === 'json' ? 4000 : 1000;
  const keys = Object.keys(message);
  switch (rng.int(9)) {
    case 0:
      message[rng.pick(keys)] = oddField(rng);
      return 'wrong-type';
    case 1:
      message.type = rng.pick([0, 10, 99, -1, 2 ** 31, 1.5, '1', null]);
      return 'unknown-type';
    case 2:
      delete message[rng.pick(keys)];
      return 'missing-field';
    case 3:
      message[rng.pick(['x', 'result', 'error', 'item', 'streamIds', 'headers', 'arguments'])] = oddField(rng);
      return 'extra-field';
    case 4:
      message.arguments = [nested(100 + rng.int(deepLimit), 1, rng.chance(0.5))];
      return 'deep-nesting';
    case 5:
      message.invocationId = rng.pick(['', 'i'.repeat(10_000), 1, null, {}, '\ud800', '0']);
      return 'bad-invocation-id';
    case 6:
      message.streamIds = rng.pick([[], ['a', 'a'], [1], Array.from({ length: 200 }, (_, i) => `s${i}`), 'a', [null]]);
      return 'bad-stream-ids';
    case 7:
      message.arguments = ['z'.repeat(RECEIVE_LIMIT + rng.int(1000))];
      return 'oversize';
    default:
      message.headers = rng.pick([[], 'h', { a: 1 }, { a: null }, null]);
      return 'bad-headers';
  }
}

/** Case `id` (unique in the run) of a hub-message category. */
export function hubMessageCase(rng: Prng, protocol: WireProtocol, id: string, avoid: readonly Avoidable[] = []): HubCase {
  const roll = rng.int(10);
  if (roll < 3) {
    const { kind, message } = oddInvocation(rng, id, protocol, avoid);
    return { kind: `odd-invocation/${kind}`, frames: [encodeRecord(protocol, message)], mustAnswer: [id], mayHold: false };
  }
  const message = validMessage(rng, id);
  if (roll < 7) {
    const kind = mutateMessage(rng, message, protocol);
    return { kind: `structure/${kind}`, frames: [encodeRecord(protocol, message)], mustAnswer: [], mayHold: true };
  }
  if (protocol === 'messagepack' && roll === 7 && !avoid.includes('messagepack-length-claims')) {
    // A length prefix or an inner header claiming far more than the record holds.
    const body = Buffer.from(encode(asMessagePackArray(message)));
    if (rng.chance(0.5))
      return {
        kind: 'bytes/length-prefix-claim',
        frames: [{ data: Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), body]), binary: true }],
        mustAnswer: [],
        mayHold: true,
      };
    const claim = Buffer.concat([Buffer.from([0x94, 0x01, 0x80, 0xa1, 0x78]), hugeClaim(rng), rng.bytes(rng.int(32))]);
    return { kind: 'bytes/inner-length-claim', frames: [{ data: Buffer.concat([varint(claim.length), claim]), binary: true }], mustAnswer: [], mayHold: true };
  }
  const encoded = encodeRecord(protocol, message);
  const { kind, bytes } = mutateBytes(rng, Buffer.from(encoded.data));
  // JSON goes in text frames (whose bytes may now be invalid UTF-8), now and then in a binary one.
  const binary = protocol === 'messagepack' || rng.chance(0.1);
  return { kind: `bytes/${kind}`, frames: rng.chance(0.2) ? split(rng, bytes, binary) : [{ data: bytes, binary }], mustAnswer: [], mayHold: true };
}

function split(rng: Prng, bytes: Buffer, binary: boolean): Frame[] {
  if (bytes.length < 2) return [{ data: bytes, binary }];
  const at = 1 + rng.int(bytes.length - 1);
  return [
    { data: bytes.subarray(0, at), binary },
    { data: bytes.subarray(at), binary },
  ];
}

export { RS };
