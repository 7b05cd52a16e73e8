import type { RecordBounds } from './hub-protocol.js';
import { InvalidDataError } from './protocol-errors.js';

/** A VarInt length prefix has at most 5 bytes: 4 × 7 bits plus 3 bits of the fifth byte. */
export const MAX_LENGTH_PREFIX_SIZE = 5;
/** Records are limited to 2 GB − 1 bytes, as in ASP.NET Core and the JS client. */
export const MAX_RECORD_LENGTH = 0x7fffffff;

/**
 * Finds the next length-prefixed record (BinaryMessageFormat): a VarInt with 7 bits per byte, the
 * lowest group first and the high bit meaning "more bytes follow", then that many payload bytes.
 * Returns null while the prefix or the payload is still incomplete.
 */
export function findBinaryRecord(buffer: Buffer, offset: number): RecordBounds | null {
  const available = buffer.length - offset;
  if (available <= 0) return null;
  let length = 0;
  let numBytes = 0;
  let byte: number;
  do {
    if (numBytes === available) return null; // the prefix continues in bytes not received yet
    byte = buffer[offset + numBytes];
    // Multiplication, not `<<`: the fifth group would overflow a 32-bit shift into the sign bit.
    length += (byte & 0x7f) * 2 ** (7 * numBytes);
    numBytes++;
  } while ((byte & 0x80) !== 0 && numBytes < MAX_LENGTH_PREFIX_SIZE);

  if ((byte & 0x80) !== 0) throw new InvalidDataError('Cannot read message size.'); // a sixth byte would follow
  if (length > MAX_RECORD_LENGTH) throw new InvalidDataError('Messages bigger than 2GB are not supported.');

  const start = offset + numBytes;
  const end = start + length;
  return end > buffer.length ? null : { start, end, next: end };
}

/** The VarInt prefix for a payload of `length` bytes. */
export function writeLengthPrefix(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > MAX_RECORD_LENGTH) {
    throw new RangeError('Messages bigger than 2GB are not supported.');
  }
  const bytes: number[] = [];
  do {
    let group = length & 0x7f;
    length = Math.floor(length / 128);
    if (length > 0) group |= 0x80;
    bytes.push(group);
  } while (length > 0);
  return Buffer.from(bytes);
}

/**
 * Frames one payload: prefix and payload in a single buffer, the payload copied once. The prefix is
 * written in place (no intermediate prefix buffer): this runs once per message sent.
 */
export function writeBinaryRecord(payload: Uint8Array): Buffer {
  const length = payload.length;
  if (length > MAX_RECORD_LENGTH) throw new RangeError('Messages bigger than 2GB are not supported.');
  const prefixSize = length < 0x80 ? 1 : length < 0x4000 ? 2 : length < 0x200000 ? 3 : length < 0x10000000 ? 4 : 5;
  const out = Buffer.allocUnsafe(prefixSize + length);
  let rest = length;
  let at = 0;
  while (rest >= 0x80) {
    out[at++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[at] = rest;
  out.set(payload, prefixSize);
  return out;
}
