import { encode } from '@msgpack/msgpack';
import { checkMessagePackRecord } from '../../src/protocol/messagepack-record-check.js';
import { InvalidDataError } from '../../src/protocol/protocol-errors.js';

/** Bytes from hex; spaces and `|` are only for reading. */
const hex = (text: string) => Buffer.from(text.replace(/[\s|]+/g, ''), 'hex');

/** The check on a whole buffer. */
function check(bytes: Uint8Array): void {
  checkMessagePackRecord(bytes, 0, bytes.length);
}

/** The InvalidDataError text the check refuses `bytes` with. */
function refusal(bytes: Uint8Array): string {
  try {
    check(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidDataError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${Buffer.from(bytes).toString('hex')}`);
}

const PREFIX = 'Error reading MessagePack.';

describe('checkMessagePackRecord', () => {
  it.each<[string, string, string]>([
    ['an array32 claiming 33,554,431 items (the 6-byte attack)', 'dd 01ffffff', 'An array of 33554431 items cannot fit in the 0 byte(s) left in the record.'],
    ['an array16 claiming more items than bytes', '93 01 dc 0005 01 02 03', 'An array of 5 items cannot fit in the 2 byte(s) left in the record.'],
    ['a map32 claiming 2^32-1 entries', 'df ffffffff', 'A map of 4294967295 entries cannot fit in the 0 byte(s) left in the record.'],
    ['a fixmap of 2 entries in 3 bytes (needs 4)', '82 a1 61 01', 'A map of 2 entries cannot fit in the 3 byte(s) left in the record.'],
    ['a str32 claiming 2 GB', 'db 7fffffff', 'A string of 2147483647 bytes cannot fit in the 0 byte(s) left in the record.'],
    ['a bin32 claiming 2 GB', 'c6 7fffffff 00', 'A binary of 2147483647 bytes cannot fit in the 1 byte(s) left in the record.'],
    ['an ext32 claiming 2 GB', 'c9 7fffffff 01', 'An extension of 2147483647 bytes cannot fit in the 0 byte(s) left in the record.'],
    ['an ext8 whose data ends early', 'c7 03 01 aa', 'An extension of 3 bytes cannot fit in the 1 byte(s) left in the record.'],
    ['a fixstr that ends early', '91 a3 61 62', 'A string of 3 bytes cannot fit in the 2 byte(s) left in the record.'],
  ])('refuses %s before anything is built', (_name, bytes, detail) => {
    expect(refusal(hex(bytes))).toBe(`${PREFIX} ${detail}`);
  });

  it('counts what earlier containers still owe: nested arrays cannot each claim the whole rest', () => {
    // 3 bytes are left after the inner header, but the outer array still owes 2 items: 1 byte of room.
    expect(refusal(hex('93 93 01 01 01'))).toBe(`${PREFIX} An array of 3 items cannot fit in the 1 byte(s) left in the record.`);
    // 1,000 arrays that each claim 60,000 items: the first is refused (2,997 bytes left, 999 owed)
    const bytes = Buffer.concat([hex('dc 03e8'), ...Array.from({ length: 1000 }, () => hex('dc ea60'))]);
    expect(refusal(bytes)).toBe(`${PREFIX} An array of 60000 items cannot fit in the 1998 byte(s) left in the record.`);
  });

  it('refuses a container at level 500 and accepts level 499 (the record is level 0)', () => {
    const nested = (levels: number) => Buffer.concat([Buffer.alloc(levels, 0x91), hex('01')]);
    expect(() => check(nested(500))).not.toThrow(); // containers at levels 0..499
    expect(refusal(nested(501))).toBe('The message exceeds the maximum nesting depth of 500.');
    expect(refusal(Buffer.concat([Buffer.alloc(100_000, 0x91), hex('c0')]))).toBe('The message exceeds the maximum nesting depth of 500.');
    // an empty container counts as a level too, as the decoder builds it
    expect(refusal(Buffer.concat([Buffer.alloc(500, 0x91), hex('90')]))).toBe('The message exceeds the maximum nesting depth of 500.');
    expect(refusal(Buffer.concat([Buffer.alloc(500, 0x91), hex('80')]))).toBe('The message exceeds the maximum nesting depth of 500.');
  });

  it('accepts every value the encoder writes, at every header size', () => {
    const values: unknown[] = [
      [1, {}, null, 'Echo', ['hello', 42, -1, -200, 70_000, -70_000, 2 ** 40, -(2 ** 40), 1.5, true, false]],
      ['x'.repeat(31), 'x'.repeat(32), 'x'.repeat(256), 'x'.repeat(70_000)],
      [new Uint8Array(1), new Uint8Array(300), new Uint8Array(70_000)],
      [Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 70_000 }, () => 0)],
      [Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])), Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, [i]]))],
      [new Date(0), new Date(2 ** 40), new Date(-1)], // timestamp extensions: fixext4, fixext8, ext8
      [[], {}, [[[]]], { a: { b: {} } }, ''],
    ];
    for (const value of values) expect(() => check(encode(value))).not.toThrow();
  });

  it('checks only between start and end', () => {
    const record = hex('92 01 02');
    const framed = Buffer.concat([hex('ff ff'), record, hex('dd ffffffff')]);
    expect(() => checkMessagePackRecord(framed, 2, 2 + record.length)).not.toThrow();
    expect(() => checkMessagePackRecord(framed, 2, 4)).toThrow(
      new InvalidDataError(`${PREFIX} An array of 2 items cannot fit in the 1 byte(s) left in the record.`),
    );
  });

  it('leaves a cut header, the byte 0xc1 and trailing bytes to the decoder (its texts stay)', () => {
    for (const bytes of ['dd 01ff', 'c1', '91 01 02', '', 'cb 3ff0', 'd6 ff 00']) expect(() => check(hex(bytes))).not.toThrow();
  });
});
