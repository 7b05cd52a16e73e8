import { MessagePackHubProtocol as OfficialProtocol } from '@microsoft/signalr-protocol-msgpack';
import { NullLogger } from '@microsoft/signalr';
import { HubMessage } from '../../src/protocol/hub-messages.js';
import { MessagePackHubProtocol } from '../../src/protocol/messagepack-hub-protocol.js';
import { InvalidDataError } from '../../src/protocol/protocol-errors.js';

const protocol = new MessagePackHubProtocol();
const official = new OfficialProtocol();

/** Bytes from hex; spaces and `|` are only for reading. */
const hex = (text: string) => Buffer.from(text.replace(/[\s|]+/g, ''), 'hex');

/** Frames a body (given as hex) with a one-byte length prefix. */
function record(body: string): Buffer {
  const bytes = hex(body);
  if (bytes.length > 127) throw new Error('use a longer prefix');
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** Parses one framed record, checking that findRecord sees exactly that record. */
function parse(bytes: Buffer): HubMessage | null {
  const bounds = protocol.findRecord(bytes, 0)!;
  expect(bounds).not.toBeNull();
  expect(bounds.next).toBe(bytes.length);
  return protocol.parseRecord(bytes, bounds.start, bounds.end);
}

/** The InvalidDataError a record body is refused with. */
function refusal(body: string): string {
  try {
    parse(record(body));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidDataError);
    expect((error as Error).name).toBe('InvalidDataException');
    return (error as Error).message;
  }
  throw new Error(`parsed without error: ${body}`);
}

/** What the official JS client's own encoder writes for a message. */
function officialBytes(message: object): Buffer {
  return Buffer.from(official.writeMessage(message as never));
}

// "Message" a7 4d657373616765 | "hi" a2 6869 | "Result" a6 526573756c74 | "boom" a4 626f6f6d | "Send" a4 53656e64
const CLOSED_WITH_ERROR = 'd9 20 ' + Buffer.from('Connection closed with an error.').toString('hex'); // 32 bytes: str 8

describe('MessagePackHubProtocol', () => {
  it('names itself as the handshake expects: messagepack, version 2, binary frames', () => {
    expect([protocol.name, protocol.version, protocol.transferFormat]).toEqual(['messagepack', 2, 'Binary']);
  });

  describe('writeMessage: the arrays ASP.NET Core writes, byte for byte', () => {
    it.each<[string, HubMessage, string]>([
      [
        'Invocation, non-blocking: 6 elements, nil id, empty streamIds',
        { type: 1, target: 'Message', arguments: ['hi'] },
        '11 | 96 01 80 c0 a7 4d657373616765 91 a2 6869 90',
      ],
      ['Invocation expecting a client result', { type: 1, invocationId: 's1', target: 'Result', arguments: [] }, '0f | 96 01 80 a2 7331 a6 526573756c74 90 90'],
      [
        'Invocation with headers and stream ids',
        { type: 1, headers: { k: 'v' }, invocationId: '1', target: 'Send', arguments: [1, null, true], streamIds: ['s'] },
        '15 | 96 01 81 a1 6b a1 76 a1 31 a4 53656e64 93 01 c0 c3 91 a1 73',
      ],
      ['StreamItem', { type: 2, invocationId: '3', item: 'a' }, '07 | 94 02 80 a1 33 a1 61'],
      ['StreamItem with an undefined item (nil)', { type: 2, invocationId: '3', item: undefined }, '06 | 94 02 80 a1 33 c0'],
      ['Completion with a value: kind 3', { type: 3, invocationId: '0', result: 42 }, '07 | 95 03 80 a1 30 03 2a'],
      ['Completion of a void method: kind 3 + nil', { type: 3, invocationId: '0', result: undefined }, '07 | 95 03 80 a1 30 03 c0'],
      ['Completion with a null result: kind 3 + nil', { type: 3, invocationId: '0', result: null }, '07 | 95 03 80 a1 30 03 c0'],
      ['Completion of a stream: kind 2, 4 elements', { type: 3, invocationId: '3' }, '06 | 94 03 80 a1 33 02'],
      ['Completion with an error: kind 1', { type: 3, invocationId: '0', error: 'boom' }, '0b | 95 03 80 a1 30 01 a4 626f6f6d'],
      ['CancelInvocation', { type: 5, invocationId: '7' }, '05 | 93 05 80 a1 37'],
      ['Ping', { type: 6 }, '02 | 91 06'],
      ['Close: 3 elements, nil error, false', { type: 7 }, '04 | 93 07 c0 c2'],
      ['Close allowing reconnect', { type: 7, allowReconnect: true }, '04 | 93 07 c0 c3'],
      [
        'Close with error and allowReconnect',
        { type: 7, error: 'Connection closed with an error.', allowReconnect: true },
        `25 | 93 07 ${CLOSED_WITH_ERROR} c3`,
      ],
      ['Ack', { type: 8, sequenceId: 12 }, '03 | 92 08 0c'],
      ['Sequence', { type: 9, sequenceId: 13 }, '03 | 92 09 0d'],
      ['Sequence with a uint16 id', { type: 9, sequenceId: 300 }, '05 | 92 09 cd 012c'],
    ])('%s', (_name, message, expected) => {
      expect(protocol.writeMessage(message).toString('hex')).toBe(hex(expected).toString('hex'));
    });

    it('leaves out undefined object properties, as the JSON protocol does', () => {
      const bytes = protocol.writeMessage({ type: 3, invocationId: '1', result: { a: 1, b: undefined } });
      expect(bytes).toEqual(hex('0a | 95 03 80 a1 31 03 81 a1 61 01'));
    });

    it('uses a 2-byte length prefix past 127 bytes', () => {
      const text = 'x'.repeat(200); // str 8: d9 c8
      const bytes = protocol.writeMessage({ type: 1, target: 'M', arguments: [text] });
      // 96 01 80 c0 a1 4d 91 d9 c8 <200> 90 = 210 bytes = 0xd2 → d2 01
      expect(bytes.subarray(0, 2)).toEqual(hex('d2 01'));
      expect(bytes.length).toBe(212);
      expect(bytes.subarray(2, 11)).toEqual(hex('96 01 80 c0 a1 4d 91 d9 c8'));
      expect(bytes.subarray(211)).toEqual(hex('90'));
    });

    it('returns buffers of their own: a later write does not change an earlier one', () => {
      const first = protocol.writeMessage({ type: 2, invocationId: '1', item: 'first' });
      const copy = Buffer.from(first);
      protocol.writeMessage({ type: 2, invocationId: '2', item: 'second!' });
      expect(first).toEqual(copy);
    });

    it('writes what the official JS client reads back', () => {
      const bytes = Buffer.concat([
        protocol.writeMessage({ type: 1, invocationId: '5', target: 'Result', arguments: ['q'] }),
        protocol.writeMessage({ type: 3, invocationId: '1', result: { A: [1, 'b'] } }),
        protocol.writeMessage({ type: 3, invocationId: '2', result: undefined }),
        protocol.writeMessage({ type: 3, invocationId: '3', error: 'bad' }),
        protocol.writeMessage({ type: 6 }),
        protocol.writeMessage({ type: 7, error: 'bye', allowReconnect: true }),
      ]);
      const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
      const messages = official.parseMessages(arrayBuffer, NullLogger.instance) as any[];
      expect(messages).toEqual([
        { type: 1, headers: {}, invocationId: '5', target: 'Result', arguments: ['q'], streamIds: [] },
        { type: 3, headers: {}, invocationId: '1', result: { A: [1, 'b'] }, error: undefined },
        { type: 3, headers: {}, invocationId: '2', result: null, error: undefined },
        { type: 3, headers: {}, invocationId: '3', result: undefined, error: 'bad' },
        { type: 6 },
        { type: 7, error: 'bye', allowReconnect: true },
      ]);
    });
  });

  describe('parseRecord', () => {
    it('reads the 5-element Invocation the JS client writes (no streamIds)', () => {
      const bytes = officialBytes({ type: 1, invocationId: '0', target: 'Send', arguments: ['hi', 2] });
      expect(bytes).toEqual(hex('0f | 95 01 80 a1 30 a4 53656e64 92 a2 6869 02'));
      expect(parse(bytes)).toEqual({ type: 1, invocationId: '0', target: 'Send', arguments: ['hi', 2] });
    });

    it('reads the 6-element Invocation .NET writes, with stream ids', () => {
      expect(parse(record('96 01 80 a1 30 a4 53656e64 90 92 a1 61 a1 62'))).toEqual({
        type: 1,
        invocationId: '0',
        target: 'Send',
        arguments: [],
        streamIds: ['a', 'b'],
      });
      // an empty or nil streamIds array means none
      expect(parse(record('96 01 80 a1 30 a4 53656e64 90 90'))).toEqual({ type: 1, invocationId: '0', target: 'Send', arguments: [] });
      expect(parse(record('96 01 80 a1 30 a4 53656e64 90 c0'))).toEqual({ type: 1, invocationId: '0', target: 'Send', arguments: [] });
    });

    it('reads a nil or empty-string invocation id as non-blocking', () => {
      const nilId = parse(officialBytes({ type: 1, target: 'Send', arguments: [] })) as { invocationId?: string };
      const emptyId = parse(record('95 01 80 a0 a4 53656e64 90')) as { invocationId?: string };
      expect(nilId).toEqual({ type: 1, target: 'Send', arguments: [] });
      expect(emptyId).toEqual({ type: 1, target: 'Send', arguments: [] });
      expect(emptyId.invocationId).toBeUndefined();
    });

    it('keeps non-empty string headers; an empty map means no headers', () => {
      expect(parse(record('95 01 82 a1 6b a1 76 a2 7432 a2 7632 c0 a1 54 90'))).toEqual({
        type: 1,
        headers: { k: 'v', t2: 'v2' },
        target: 'T',
        arguments: [],
      });
    });

    it('reads StreamInvocation (5 and 6 elements), StreamItem, CancelInvocation', () => {
      expect(parse(officialBytes({ type: 4, invocationId: '7', target: 'Counter', arguments: [3] }))).toEqual({
        type: 4,
        invocationId: '7',
        target: 'Counter',
        arguments: [3],
      });
      expect(parse(record('96 04 80 a1 37 a1 43 90 91 a1 73'))).toEqual({ type: 4, invocationId: '7', target: 'C', arguments: [], streamIds: ['s'] });
      expect(parse(officialBytes({ type: 2, invocationId: 's', item: { x: 1 } }))).toEqual({ type: 2, invocationId: 's', item: { x: 1 } });
      expect(parse(record('94 02 80 a1 73 c0'))).toEqual({ type: 2, invocationId: 's', item: null });
      expect(parse(officialBytes({ type: 5, invocationId: '7' }))).toEqual({ type: 5, invocationId: '7' });
    });

    it('reads every Completion result kind', () => {
      const errorKind = parse(record('95 03 80 a1 31 01 a3 626164'));
      const voidKind = parse(record('94 03 80 a1 31 02'));
      const valueKind = parse(record('95 03 80 a1 31 03 2a'));
      const nilValue = parse(record('95 03 80 a1 31 03 c0'));
      expect(errorKind).toEqual({ type: 3, invocationId: '1', error: 'bad' });
      expect(voidKind).toEqual({ type: 3, invocationId: '1' });
      expect('result' in voidKind!).toBe(false);
      expect(valueKind).toEqual({ type: 3, invocationId: '1', result: 42 });
      expect(nilValue).toEqual({ type: 3, invocationId: '1', result: null });
      expect('result' in nilValue!).toBe(true);
      // and the kinds the official client writes: 2 for undefined, 3 for null, 1 for an error
      expect(officialBytes({ type: 3, invocationId: '1' })).toEqual(hex('06 | 94 03 80 a1 31 02'));
      expect(officialBytes({ type: 3, invocationId: '1', result: null })).toEqual(hex('07 | 95 03 80 a1 31 03 c0'));
      expect(officialBytes({ type: 3, invocationId: '1', error: 'bad' })).toEqual(hex('0a | 95 03 80 a1 31 01 a3 626164'));
    });

    it('reads Ping, Close with 2 or 3 elements, Ack and Sequence', () => {
      expect(parse(hex('02 91 06'))).toEqual({ type: 6 });
      expect(officialBytes({ type: 7 })).toEqual(hex('03 | 92 07 c0')); // the JS client's Close: [7, nil]
      expect(parse(hex('03 92 07 c0'))).toEqual({ type: 7, allowReconnect: false });
      expect(parse(record('93 07 a3 626164 c3'))).toEqual({ type: 7, error: 'bad', allowReconnect: true });
      expect(parse(record('93 07 c0 c2'))).toEqual({ type: 7, allowReconnect: false });
      expect(parse(officialBytes({ type: 8, sequenceId: 12 }))).toEqual({ type: 8, sequenceId: 12 });
      expect(parse(record('92 09 ce 00010000'))).toEqual({ type: 9, sequenceId: 65536 });
      expect(parse(record('92 09 cf 0000000100000000'))).toEqual({ type: 9, sequenceId: 2 ** 32 });
    });

    it('tolerates trailing elements a later protocol version may add', () => {
      expect(parse(record('97 01 80 c0 a1 54 90 90 a1 78'))).toEqual({ type: 1, target: 'T', arguments: [] });
      expect(parse(record('95 03 80 a1 31 02 2a'))).toEqual({ type: 3, invocationId: '1' });
      expect(parse(record('92 06 01'))).toEqual({ type: 6 });
      expect(parse(record('94 07 c0 c3 01'))).toEqual({ type: 7, allowReconnect: true });
      expect(parse(record('93 08 05 05'))).toEqual({ type: 8, sequenceId: 5 });
    });

    it('returns null for an unknown message type, so the record is skipped', () => {
      expect(parse(record('91 0a'))).toBeNull();
      expect(parse(record('93 00 80 c0'))).toBeNull();
      expect(parse(record('92 63 a1 78'))).toBeNull();
    });

    it('finds and reads several records in one buffer and leaves an incomplete tail', () => {
      const buffer = Buffer.concat([hex('02 91 06'), record('91 2a'), officialBytes({ type: 1, target: 'A', arguments: ['é'] }), hex('05 93 07')]);
      const messages: Array<HubMessage | null> = [];
      let offset = 0;
      for (let bounds = protocol.findRecord(buffer, 0); bounds !== null; bounds = protocol.findRecord(buffer, offset)) {
        messages.push(protocol.parseRecord(buffer, bounds.start, bounds.end));
        offset = bounds.next;
      }
      expect(messages).toEqual([{ type: 6 }, null, { type: 1, target: 'A', arguments: ['é'] }]);
      expect(buffer.subarray(offset)).toEqual(hex('05 93 07'));
    });
  });

  describe('malformed records', () => {
    it.each<[string, string, string]>([
      ['an empty record', '', 'Error reading MessagePack. Insufficient data: the record ends inside a value.'],
      ['a truncated array', '92 01', 'Error reading MessagePack. An array of 2 items cannot fit in the 1 byte(s) left in the record.'],
      // the string's 5 bytes and the one item the array still owes would need 6 of the 2 bytes left
      ['a truncated string', '95 01 80 c0 a5 4142', 'Error reading MessagePack. A string of 5 bytes cannot fit in the 1 byte(s) left in the record.'],
      ['bytes after the array', '91 06 00', 'Error reading MessagePack. Extra 1 of 3 byte(s) found at buffer[2]'],
      ['the never-used byte 0xc1', 'c1', 'Error reading MessagePack. Unrecognized type byte: 0xc1'],
      ['a nil map key', '95 01 81 c0 a1 76 c0 a1 54 90', 'Error reading MessagePack. The type of key must be string or number but object'],
      ['a __proto__ map key', '95 01 80 c0 a1 54 91 81 a9 5f5f70726f746f5f5f 01', 'Error reading MessagePack. The key __proto__ is not allowed'],
      ['a number, not an array', '01', 'Reading array length for the message failed.'],
      ['a map, not an array', '81 a1 61 01', 'Reading array length for the message failed.'],
      ['an empty array', '90', "Reading 'messageType' as Int32 failed."],
      ['a string message type', '91 a1 31', "Reading 'messageType' as Int32 failed."],
      ['a float message type', '91 cb 3ff8000000000000', "Reading 'messageType' as Int32 failed."],
      ['an Invocation of 4 elements', '94 01 80 c0 a1 54', 'Invalid payload for Invocation message.'],
      ['nil headers', '95 01 c0 c0 a1 54 90', "Reading map length for 'headers' failed."],
      ['array headers', '95 01 90 c0 a1 54 90', "Reading map length for 'headers' failed."],
      ['an empty header key', '95 01 81 a0 a1 76 c0 a1 54 90', 'Null or empty key in header.'],
      ['an empty header value', '95 01 81 a1 6b a0 c0 a1 54 90', 'Null or empty value in header.'],
      ['a nil header value', '95 01 81 a1 6b c0 c0 a1 54 90', 'Null or empty value in header.'],
      ['a numeric header value', '95 01 82 a1 6a a1 76 a1 6b 01 c0 a1 54 90', "Reading 'headers[1].Value' as String failed."],
      ['a numeric invocation id', '95 01 80 01 a1 54 90', "Reading 'invocationId' as String failed."],
      ['a nil target', '95 01 80 c0 c0 90', "Reading 'target' as String failed."],
      ['a numeric target', '95 01 80 c0 05 90', "Reading 'target' as String failed."],
      ['map arguments', '95 01 80 c0 a1 54 80', "Reading array length for 'arguments' failed."],
      ['nil arguments', '95 01 80 c0 a1 54 c0', "Reading array length for 'arguments' failed."],
      ['a numeric stream id', '96 01 80 c0 a1 54 90 92 a1 61 01', "Reading 'streamIds[1]' as String failed."],
      ['a string for streamIds', '96 01 80 c0 a1 54 90 a1 61', "Reading array length for 'streamIds' failed."],
      ['a StreamInvocation with a nil id', '95 04 80 c0 a1 54 90', "Missing required property 'invocationId'."],
      ['a StreamInvocation with an empty id', '95 04 80 a0 a1 54 90', "Missing required property 'invocationId'."],
      ['a StreamItem of 3 elements', '93 02 80 a1 31', 'Invalid payload for StreamItem message.'],
      ['a StreamItem with a nil id', '94 02 80 c0 01', "Reading 'invocationId' as String failed."],
      ['a Completion of 3 elements', '93 03 80 a1 31', 'Invalid payload for Completion message.'],
      ['result kind 0', '95 03 80 a1 31 00 c0', 'Invalid invocation result kind.'],
      ['result kind 4', '95 03 80 a1 31 04 c0', 'Invalid invocation result kind.'],
      ['a string result kind', '95 03 80 a1 31 a1 33 c0', "Reading 'resultKind' as Int32 failed."],
      ['an error completion without the error', '94 03 80 a1 31 01', 'Invalid payload for Completion message.'],
      ['a value completion without the value', '94 03 80 a1 31 03', 'Invalid payload for Completion message.'],
      ['a numeric completion error', '95 03 80 a1 31 01 05', "Reading 'error' as String failed."],
      ['a nil completion error', '95 03 80 a1 31 01 c0', "Reading 'error' as String failed."],
      ['a Completion with a nil id', '95 03 80 c0 03 01', "Reading 'invocationId' as String failed."],
      ['a CancelInvocation of 2 elements', '92 05 80', 'Invalid payload for CancelInvocation message.'],
      ['a Close of 1 element', '91 07', 'Invalid payload for Close message.'],
      ['a numeric Close error', '92 07 01', "Reading 'error' as String failed."],
      ['a nil allowReconnect', '93 07 c0 c0', "Reading 'allowReconnect' as Boolean failed."],
      ['an Ack without sequence id', '91 08', 'Invalid payload for Ack message.'],
      ['a negative sequence id', '92 08 ff', "Reading 'sequenceId' as Int64 failed."],
      ['a string sequence id', '92 09 a1 31', "Reading 'sequenceId' as Int64 failed."],
      ['a fractional sequence id', '92 09 cb 3ff8000000000000', "Reading 'sequenceId' as Int64 failed."],
    ])('refuses %s', (_name, body, message) => {
      expect(refusal(body)).toBe(message);
    });

    it('refuses values nested deeper than 500 levels (the .NET untrusted-data limit)', () => {
      const nested = (depth: number) => Buffer.concat([hex('95 01 80 c0 a1 54 91'), Buffer.alloc(depth, 0x91), hex('01')]);
      const frame = (body: Buffer) => Buffer.concat([Buffer.from([(body.length & 0x7f) | 0x80, body.length >> 7]), body]);
      // the record array is level 0 and the arguments array level 1: 498 more arrays reach level 499, the last allowed
      expect(parse(frame(nested(498)))).toMatchObject({ type: 1, target: 'T' });
      expect(() => parse(frame(nested(499)))).toThrow(new InvalidDataError('The message exceeds the maximum nesting depth of 500.'));
    });
  });
});
