import { decode } from '@msgpack/msgpack';
import { HubMessage } from '../../src/protocol/hub-messages.js';
import { JsonHubProtocol } from '../../src/protocol/json-hub-protocol.js';
import { MessagePackHubProtocol } from '../../src/protocol/messagepack-hub-protocol.js';

const msgpack = new MessagePackHubProtocol();
const json = new JsonHubProtocol();
const hex = (text: string) => Buffer.from(text.replace(/[\s|]+/g, ''), 'hex');

function parseOne(bytes: Buffer): HubMessage | null {
  const bounds = msgpack.findRecord(bytes, 0)!;
  expect(bounds.next).toBe(bytes.length);
  return msgpack.parseRecord(bytes, bounds.start, bounds.end);
}

/** The `result` of a Completion written by the MessagePack protocol and read back by it. */
function roundTrip(result: unknown): unknown {
  return (parseOne(msgpack.writeMessage({ type: 3, invocationId: '1', result })) as { result: unknown }).result;
}

describe('Date values in MessagePack (timestamp extension −1)', () => {
  it('writes a whole-second date as timestamp 32 and one with milliseconds as timestamp 64', () => {
    // 2000-01-01T00:00:00Z = 946684800 s = 0x386d4380
    expect(msgpack.writeMessage({ type: 3, invocationId: '1', result: new Date('2000-01-01T00:00:00Z') })).toEqual(
      hex('0c | 95 03 80 a1 31 03 | d6 ff 386d4380'),
    );
    // .123 s = 123000000 ns = 0x0754d4c0; the upper 32 bits hold ns << 2 = 0x1d535300, the lower the seconds
    expect(msgpack.writeMessage({ type: 3, invocationId: '1', result: new Date('2000-01-01T00:00:00.123Z') })).toEqual(
      hex('10 | 95 03 80 a1 31 03 | d7 ff 1d535300 386d4380'),
    );
  });

  it('reads timestamp 32, 64 and 96 back as Date instances', () => {
    for (const iso of ['2000-01-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z', '1969-12-31T23:59:59.999Z', '2500-06-01T12:00:00.500Z']) {
      const result = roundTrip(new Date(iso));
      expect(result).toBeInstanceOf(Date);
      expect((result as Date).toISOString()).toBe(iso);
    }
    const nested = roundTrip({ when: [new Date(0)] }) as { when: Date[] };
    expect(nested.when[0]).toBeInstanceOf(Date);
    expect(nested.when[0].getTime()).toBe(0);
  });
});

describe('binary values in MessagePack (bin)', () => {
  it('writes Uint8Array and Buffer as bin, never as Buffer.toJSON()', () => {
    const expected = hex('0b | 95 03 80 a1 31 03 | c4 03 010203');
    expect(msgpack.writeMessage({ type: 3, invocationId: '1', result: new Uint8Array([1, 2, 3]) })).toEqual(expected);
    expect(msgpack.writeMessage({ type: 3, invocationId: '1', result: Buffer.from([1, 2, 3]) })).toEqual(expected);
    // bin 16 past 255 bytes
    const large = msgpack.writeMessage({ type: 2, invocationId: '1', item: Buffer.alloc(300, 9) });
    expect(large.subarray(0, 10)).toEqual(hex('b4 02 | 94 02 80 a1 31 | c5 012c'));
  });

  it('reads bin as a Buffer that owns its bytes', () => {
    const bytes = hex('0e | 95 01 80 c0 a1 54 92 c4 03 010203 c4 00');
    const message = parseOne(bytes) as { arguments: unknown[] };
    const [first, empty] = message.arguments as Buffer[];
    expect(Buffer.isBuffer(first)).toBe(true);
    expect(first).toEqual(Buffer.from([1, 2, 3]));
    expect(Buffer.isBuffer(empty)).toBe(true);
    expect(empty.length).toBe(0);
    bytes.fill(0); // the receive buffer is reused or dropped: the value must not change with it
    expect(first).toEqual(Buffer.from([1, 2, 3]));
  });

  it('round-trips bin nested in maps and arrays', () => {
    const result = roundTrip({ files: [{ name: 'a', data: new Uint8Array([255, 0]) }] }) as { files: Array<{ data: Buffer }> };
    expect(result.files[0].data).toEqual(Buffer.from([255, 0]));
    expect(result.files[0].data).toBeInstanceOf(Uint8Array);
  });

  it('keeps unknown extension types as ExtData with their own bytes', () => {
    const bytes = hex('0d | 95 01 80 c0 a1 54 91 d6 05 01020304');
    const [value] = (parseOne(bytes) as { arguments: Array<{ type: number; data: Uint8Array }> }).arguments;
    bytes.fill(0);
    expect(value.type).toBe(5);
    expect(Buffer.from(value.data)).toEqual(hex('01020304'));
  });

  it('writes exactly what the library decodes back, for mixed payloads', () => {
    const payload = { n: -1.5, big: 2 ** 40, s: 'ü', list: [true, null], bin: Buffer.from('hi'), when: new Date(86_400_000) };
    const bytes = msgpack.writeMessage({ type: 1, target: 'T', arguments: [payload] });
    const bounds = msgpack.findRecord(bytes, 0)!;
    // from a plain Uint8Array copy, so bin comes back as a plain Uint8Array too
    const decoded = decode(new Uint8Array(bytes.subarray(bounds.start, bounds.end))) as unknown[];
    expect(decoded).toEqual([1, {}, null, 'T', [{ ...payload, bin: new Uint8Array([0x68, 0x69]) }], []]);
  });
});

describe('binary values in JSON (base64 strings, as .NET writes byte[])', () => {
  const RS = '\u001e';
  const text = (message: HubMessage) => json.writeMessage(message).toString('utf8');

  it('writes Buffer and Uint8Array arguments, items and results as base64 strings', () => {
    expect(text({ type: 1, target: 'M', arguments: [Buffer.from([1, 2, 3]), new Uint8Array([255])] })).toBe(
      '{"type":1,"target":"M","arguments":["AQID","/w=="]}' + RS,
    );
    expect(text({ type: 2, invocationId: '1', item: Buffer.from('hi') })).toBe('{"type":2,"invocationId":"1","item":"aGk="}' + RS);
    expect(text({ type: 3, invocationId: '1', result: new Uint8Array(0) })).toBe('{"type":3,"invocationId":"1","result":""}' + RS);
  });

  it('finds binary values nested in objects and arrays, and encodes only the view of a subarray', () => {
    const backing = Buffer.from([0, 1, 2, 3, 4]);
    const result = { a: [{ b: backing.subarray(1, 3) }], c: 'AQID', d: { type: 'Buffer', data: [1] } };
    expect(text({ type: 3, invocationId: '1', result })).toBe(
      '{"type":3,"invocationId":"1","result":{"a":[{"b":"AQI="}],"c":"AQID","d":{"type":"Buffer","data":[1]}}}' + RS,
    );
  });

  it('leaves payloads without binary values as JSON.stringify writes them', () => {
    const result = { when: new Date(0), list: [1, 'x', null], nested: { ok: true } };
    expect(text({ type: 3, invocationId: '1', result })).toBe(`{"type":3,"invocationId":"1","result":${JSON.stringify(result)}}` + RS);
  });

  it('still reports a circular payload as JSON.stringify does', () => {
    const loop: Record<string, unknown> = { bin: Buffer.from([1]) };
    loop.self = loop;
    expect(() => json.writeMessage({ type: 3, invocationId: '1', result: loop })).toThrow(TypeError);
  });
});
