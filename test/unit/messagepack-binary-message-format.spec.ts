import { findBinaryRecord, writeBinaryRecord, writeLengthPrefix } from '../../src/protocol/binary-message-format.js';
import { InvalidDataError } from '../../src/protocol/protocol-errors.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** The InvalidDataError that finding a record in `bytes` throws. */
function refusal(bytes: Buffer): InvalidDataError {
  try {
    findBinaryRecord(bytes, 0);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidDataError);
    expect((error as Error).name).toBe('InvalidDataException');
    return error as InvalidDataError;
  }
  throw new Error(`no error for ${bytes.toString('hex')}`);
}

describe('BinaryMessageFormat (VarInt length prefix)', () => {
  // 7 bits per byte, lowest group first, high bit = more bytes follow (reference §4.3).
  it.each<[number, string]>([
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '80 01'],
    [300, 'ac 02'],
    [16383, 'ff 7f'],
    [16384, '80 80 01'],
    [2097151, 'ff ff 7f'],
    [2097152, '80 80 80 01'],
    [268435455, 'ff ff ff 7f'],
    [268435456, '80 80 80 80 01'],
    [2 ** 31 - 1, 'ff ff ff ff 07'],
  ])('writes %i as %s', (length, prefix) => {
    expect(writeLengthPrefix(length)).toEqual(hex(prefix));
  });

  it.each([-1, 2 ** 31, 1.5])('refuses to write a length of %s', (length) => {
    expect(() => writeLengthPrefix(length)).toThrow('Messages bigger than 2GB are not supported.');
  });

  it.each<[number, string]>([
    [0, '00'],
    [127, '7f'],
    [128, '80 01'],
    [16383, 'ff 7f'],
    [16384, '80 80 01'],
  ])('finds a record of %i payload bytes after the prefix %s', (length, prefix) => {
    const record = Buffer.concat([hex(prefix), Buffer.alloc(length, 0xab), hex('ee ee')]);
    const prefixLength = hex(prefix).length;
    expect(findBinaryRecord(record, 0)).toEqual({ start: prefixLength, end: prefixLength + length, next: prefixLength + length });
    // One byte short of the payload: incomplete, not an error.
    if (length > 0) expect(findBinaryRecord(record.subarray(0, prefixLength + length - 1), 0)).toBeNull();
  });

  it('reads the largest length (2^31 - 1) and waits for its payload', () => {
    expect(findBinaryRecord(hex('ff ff ff ff 07'), 0)).toBeNull();
    expect(findBinaryRecord(hex('ff ff ff ff 07 00 01 02'), 0)).toBeNull();
  });

  it('waits while the prefix itself is incomplete', () => {
    for (const partial of ['', '80', 'ff ff', 'ff ff ff', 'ff ff ff ff']) expect(findBinaryRecord(hex(partial), 0)).toBeNull();
  });

  it('refuses a prefix longer than five bytes, as soon as the fifth byte says more follow', () => {
    expect(refusal(hex('ff ff ff ff ff')).message).toBe('Cannot read message size.');
    expect(refusal(hex('80 80 80 80 80 01')).message).toBe('Cannot read message size.');
  });

  it('refuses a length over 2 GB (fifth byte above 7)', () => {
    expect(refusal(hex('80 80 80 80 08')).message).toBe('Messages bigger than 2GB are not supported.');
    expect(refusal(hex('ff ff ff ff 0f 00')).message).toBe('Messages bigger than 2GB are not supported.');
    expect(refusal(hex('80 80 80 80 7f')).message).toBe('Messages bigger than 2GB are not supported.');
  });

  it('walks consecutive records from an offset, including empty ones', () => {
    const buffer = hex('aa bb | 02 91 06 | 00 | 03 92 08 0c | 05 93'.replace(/\|/g, ''));
    const found = [];
    let offset = 2;
    for (let bounds = findBinaryRecord(buffer, offset); bounds !== null; bounds = findBinaryRecord(buffer, offset)) {
      found.push(buffer.subarray(bounds.start, bounds.end).toString('hex'));
      offset = bounds.next;
    }
    expect(found).toEqual(['9106', '', '92080c']);
    expect(buffer.subarray(offset).toString('hex')).toBe('0593'); // the unfinished tail
  });

  it('frames a payload with its prefix', () => {
    expect(writeBinaryRecord(hex('91 06'))).toEqual(hex('02 91 06'));
    expect(writeBinaryRecord(new Uint8Array(0))).toEqual(hex('00'));
    const big = Buffer.alloc(200, 7);
    const framed = writeBinaryRecord(big);
    expect(framed.subarray(0, 2)).toEqual(hex('c8 01'));
    expect(framed.subarray(2)).toEqual(big);
  });
});
