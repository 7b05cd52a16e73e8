import { findBinaryRecord, writeBinaryRecord, writeLengthPrefix } from '../../src/protocol/binary-message-format.js';

/*
 * writeBinaryRecord writes its VarInt prefix in place rather than through writeLengthPrefix; at every
 * width boundary of the prefix the two must agree, and the record must read back whole.
 */
describe('writeBinaryRecord prefix widths', () => {
  it.each([0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152])('frames a %i-byte payload as prefix + payload', (length) => {
    const payload = new Uint8Array(length);
    for (let i = 0; i < length; i++) payload[i] = i % 251;
    const framed = writeBinaryRecord(payload);
    const prefix = writeLengthPrefix(length);
    expect(framed.length).toBe(prefix.length + length);
    expect(framed.subarray(0, prefix.length)).toEqual(prefix);
    expect(Buffer.compare(framed.subarray(prefix.length), Buffer.from(payload))).toBe(0);
    expect(findBinaryRecord(framed, 0)).toEqual({ start: prefix.length, end: framed.length, next: framed.length });
  });

  it('copies the payload, so later changes to it do not reach the record', () => {
    const payload = Buffer.from([1, 2, 3]);
    const framed = writeBinaryRecord(payload);
    payload[0] = 9;
    expect([...framed]).toEqual([3, 1, 2, 3]);
  });
});
