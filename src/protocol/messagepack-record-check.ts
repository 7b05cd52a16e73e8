import { MAX_NESTING_DEPTH, nestingTooDeep } from './nesting-depth.js';
import { InvalidDataError } from './protocol-errors.js';

/**
 * Values still to be read at each open level. One array for the process: the check is synchronous
 * and never re-entered, so it allocates nothing per record.
 */
const remaining = new Float64Array(MAX_NESTING_DEPTH + 1);

type Claim = 'array' | 'map' | 'string' | 'binary' | 'extension';

function tooLong(claim: Claim, count: number, room: number): InvalidDataError {
  const what =
    claim === 'array'
      ? `An array of ${count} items`
      : claim === 'map'
        ? `A map of ${count} entries`
        : `${claim === 'extension' ? 'An extension' : claim === 'string' ? 'A string' : 'A binary'} of ${count} bytes`;
  return new InvalidDataError(`Error reading MessagePack. ${what} cannot fit in the ${room} byte(s) left in the record.`);
}

/**
 * Checks the headers of one MessagePack record against its length before the decoder runs, without
 * allocating: every value takes at least one byte, so an array of n items needs n bytes, a map of
 * n entries 2n, a string, binary or extension its length, all beyond what other values still owe.
 * Containers deeper than MAX_NESTING_DEPTH are refused too. The decoder preallocates an array for
 * its header's count (6 bytes could claim 33 million items); after this check, what it builds is
 * bounded by the record's size, and the check itself reads only headers (strings are skipped).
 *
 * What the check cannot judge (a header cut short, an unknown type byte, bytes after the value) it
 * leaves to the decoder, whose error texts stay as they are.
 */
export function checkMessagePackRecord(bytes: Uint8Array, start: number, end: number): void {
  let pos = start;
  let depth = 0;
  /** Values announced by open containers and not read yet: each still needs a byte. */
  let pending = 1;
  remaining[0] = 1;
  while (pos < end) {
    const type = bytes[pos++];
    remaining[depth]--;
    pending--;
    let children = 0;
    let skip = 0;
    let claim: Claim | null = null;
    if (type <= 0x7f || type >= 0xe0) {
      // fixint
    } else if (type <= 0x8f) {
      children = 2 * (type & 0x0f);
      claim = 'map';
    } else if (type <= 0x9f) {
      children = type & 0x0f;
      claim = 'array';
    } else if (type <= 0xbf) {
      skip = type & 0x1f;
      claim = 'string';
    } else {
      const size = lengthFieldSize(type);
      if (size === 0) {
        skip = fixedSize(type);
        if (skip < 0) return; // 0xc1, never used: the decoder names the byte
      } else {
        if (end - pos < size) return; // header cut short: the decoder says so
        const count =
          size === 1
            ? bytes[pos]
            : size === 2
              ? bytes[pos] * 0x100 + bytes[pos + 1]
              : bytes[pos] * 0x1000000 + bytes[pos + 1] * 0x10000 + bytes[pos + 2] * 0x100 + bytes[pos + 3];
        pos += size;
        if (type === 0xdc || type === 0xdd) {
          children = count;
          claim = 'array';
        } else if (type === 0xde || type === 0xdf) {
          children = 2 * count;
          claim = 'map';
        } else if (type === 0xc7 || type === 0xc8 || type === 0xc9) {
          skip = count + 1; // and the extension's type byte
          claim = 'extension';
        } else {
          skip = count;
          claim = type >= 0xd9 ? 'string' : 'binary';
        }
      }
    }
    // Bytes not owed to values announced earlier: what this value's claim must fit in.
    const room = end - pos - pending;
    if (claim === 'array' || claim === 'map') {
      if (depth >= MAX_NESTING_DEPTH) throw nestingTooDeep();
      if (children > room) throw tooLong(claim, claim === 'map' ? children / 2 : children, room);
      if (children > 0) {
        remaining[++depth] = children;
        pending += children;
        continue;
      }
    } else if (claim !== null) {
      if (skip > room) throw tooLong(claim, claim === 'extension' ? skip - 1 : skip, claim === 'extension' ? Math.max(0, room - 1) : room);
      pos += skip;
    } else {
      if (skip > end - pos) return; // a number cut short: the decoder says so
      pos += skip;
    }
    while (remaining[depth] === 0) {
      if (depth === 0) return; // the record's value is complete; trailing bytes are the decoder's to report
      depth--;
    }
  }
}

/** Bytes of the length field of bin, ext, str, array16/32 and map16/32; 0 for every other type byte from 0xc0. */
function lengthFieldSize(type: number): number {
  switch (type) {
    case 0xc4:
    case 0xc7:
    case 0xd9:
      return 1;
    case 0xc5:
    case 0xc8:
    case 0xda:
    case 0xdc:
    case 0xde:
      return 2;
    case 0xc6:
    case 0xc9:
    case 0xdb:
    case 0xdd:
    case 0xdf:
      return 4;
    default:
      return 0;
  }
}

/** Payload bytes of nil, booleans, numbers and fixext (type byte and data); -1 for 0xc1, never used. */
function fixedSize(type: number): number {
  switch (type) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return 0;
    case 0xcc:
    case 0xd0:
      return 1;
    case 0xcd:
    case 0xd1:
      return 2;
    case 0xca:
    case 0xce:
    case 0xd2:
      return 4;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return 8;
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      return 1 + (1 << (type - 0xd4)); // the extension's type byte and 1, 2, 4, 8 or 16 data bytes
    default:
      return -1;
  }
}
