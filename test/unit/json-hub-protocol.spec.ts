import { HubMessage, MessageType } from '../../src/protocol/hub-messages.js';
import { JsonHubProtocol } from '../../src/protocol/json-hub-protocol.js';
import { InvalidDataError } from '../../src/protocol/protocol-errors.js';

const RS = '\u001e';
const protocol = new JsonHubProtocol();

/** The exact text `writeMessage` produced, after checking it ends in exactly one RS. */
function written(message: HubMessage): string {
  const bytes = protocol.writeMessage(message);
  expect(bytes[bytes.length - 1]).toBe(0x1e);
  const text = bytes.toString('utf8');
  expect(text.indexOf(RS)).toBe(text.length - 1);
  return text;
}

/** Parses one record given as JSON text (no RS). */
function parse(json: string): HubMessage | null {
  const buffer = Buffer.from(json + RS);
  const bounds = protocol.findRecord(buffer, 0)!;
  expect(bounds).toEqual({ start: 0, end: buffer.length - 1, next: buffer.length });
  return protocol.parseRecord(buffer, bounds.start, bounds.end);
}

/** The InvalidDataError a record is refused with. */
function refusal(json: string): InvalidDataError {
  try {
    parse(json);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidDataError);
    expect((error as Error).name).toBe('InvalidDataException');
    return error as InvalidDataError;
  }
  throw new Error(`parsed without error: ${json}`);
}

describe('JsonHubProtocol', () => {
  it('names itself as the handshake expects: json, version 2, text frames', () => {
    expect([protocol.name, protocol.version, protocol.transferFormat]).toEqual(['json', 2, 'Text']);
  });

  describe('writeMessage (the reference §4.2 table, byte for byte)', () => {
    it.each<[string, HubMessage, string]>([
      ['Invocation, non-blocking', { type: 1, target: 'Message', arguments: ['hi'] }, '{"type":1,"target":"Message","arguments":["hi"]}'],
      [
        'Invocation expecting a client result',
        { type: 1, invocationId: 's1', target: 'Result', arguments: [] },
        '{"type":1,"invocationId":"s1","target":"Result","arguments":[]}',
      ],
      ['StreamItem', { type: 2, invocationId: '3', item: 'a' }, '{"type":2,"invocationId":"3","item":"a"}'],
      ['StreamItem with a null item', { type: 2, invocationId: '3', item: null }, '{"type":2,"invocationId":"3","item":null}'],
      ['StreamItem with an undefined item', { type: 2, invocationId: '3', item: undefined }, '{"type":2,"invocationId":"3","item":null}'],
      ['Completion with value', { type: 3, invocationId: '0', result: 42 }, '{"type":3,"invocationId":"0","result":42}'],
      ['Completion of a void method', { type: 3, invocationId: '0', result: undefined }, '{"type":3,"invocationId":"0","result":null}'],
      ['Completion with a null result', { type: 3, invocationId: '0', result: null }, '{"type":3,"invocationId":"0","result":null}'],
      ['Completion of a stream', { type: 3, invocationId: '3' }, '{"type":3,"invocationId":"3"}'],
      ['Completion with error', { type: 3, invocationId: '0', error: 'boom' }, '{"type":3,"invocationId":"0","error":"boom"}'],
      ['Ping', { type: 6 }, '{"type":6}'],
      ['Close', { type: 7 }, '{"type":7}'],
      ['Close, allowReconnect false (not written)', { type: 7, allowReconnect: false }, '{"type":7}'],
      ['Close, allowReconnect true', { type: 7, allowReconnect: true }, '{"type":7,"allowReconnect":true}'],
      [
        'Close with error and allowReconnect',
        { type: 7, error: 'Connection closed with an error.', allowReconnect: true },
        '{"type":7,"error":"Connection closed with an error.","allowReconnect":true}',
      ],
      ['Close with error only', { type: 7, error: 'bye' }, '{"type":7,"error":"bye"}'],
      ['Ack', { type: 8, sequenceId: 12 }, '{"type":8,"sequenceId":12}'],
      ['Sequence', { type: 9, sequenceId: 13 }, '{"type":9,"sequenceId":13}'],
    ])('%s', (_name, message, expected) => {
      expect(written(message)).toBe(expected + RS);
    });

    it('writes headers right after type, only when non-empty', () => {
      const headers = { k: 'v' };
      expect(written({ type: 1, headers, target: 'M', arguments: [] })).toBe('{"type":1,"headers":{"k":"v"},"target":"M","arguments":[]}' + RS);
      expect(written({ type: 1, headers: {}, target: 'M', arguments: [] })).toBe('{"type":1,"target":"M","arguments":[]}' + RS);
      expect(written({ type: 2, headers, invocationId: '1', item: 1 })).toBe('{"type":2,"headers":{"k":"v"},"invocationId":"1","item":1}' + RS);
      expect(written({ type: 3, headers, invocationId: '1', result: 1 })).toBe('{"type":3,"headers":{"k":"v"},"invocationId":"1","result":1}' + RS);
      expect(written({ type: 3, headers: {}, invocationId: '1', error: 'e' })).toBe('{"type":3,"invocationId":"1","error":"e"}' + RS);
    });

    it('writes non-ASCII characters as raw UTF-8, not \\u escapes', () => {
      const bytes = protocol.writeMessage({ type: 1, target: 'M', arguments: ['héllo ✓'] });
      expect(bytes.toString('utf8')).toBe('{"type":1,"target":"M","arguments":["héllo ✓"]}' + RS);
      expect(bytes.length).toBe(Buffer.byteLength('{"type":1,"target":"M","arguments":["héllo ✓"]}') + 1);
      expect(bytes.includes(Buffer.from('\\u'))).toBe(false);
    });
  });

  describe('parseRecord', () => {
    it('accepts any property order, type last as the JS client writes it', () => {
      expect(parse('{"target":"Send","arguments":[1,"a"],"invocationId":"0","type":1}')).toEqual({
        type: MessageType.Invocation,
        invocationId: '0',
        target: 'Send',
        arguments: [1, 'a'],
      });
      expect(parse('{"item":{"x":1},"invocationId":"4","type":2}')).toEqual({ type: 2, invocationId: '4', item: { x: 1 } });
    });

    it('reads an Invocation without or with an empty invocationId as non-blocking', () => {
      const withoutId = parse('{"type":1,"target":"Send","arguments":[]}') as { invocationId?: string };
      const emptyId = parse('{"type":1,"invocationId":"","target":"Send","arguments":[]}') as { invocationId?: string };
      expect(withoutId).toEqual({ type: 1, target: 'Send', arguments: [] });
      expect(emptyId).toEqual({ type: 1, target: 'Send', arguments: [] });
      expect(emptyId.invocationId).toBeUndefined();
    });

    it('reads every client-to-server message type', () => {
      expect(parse('{"type":4,"invocationId":"7","target":"Counter","arguments":[3],"streamIds":["s"]}')).toEqual({
        type: 4,
        invocationId: '7',
        target: 'Counter',
        arguments: [3],
        streamIds: ['s'],
      });
      expect(parse('{"type":2,"invocationId":"s","item":null}')).toEqual({ type: 2, invocationId: 's', item: null });
      expect(parse('{"type":3,"invocationId":"s"}')).toEqual({ type: 3, invocationId: 's' });
      expect('result' in (parse('{"type":3,"invocationId":"s"}') as object)).toBe(false);
      const voidCompletion = parse('{"type":3,"invocationId":"s","result":null}') as object;
      expect('result' in voidCompletion).toBe(true);
      expect(voidCompletion).toEqual({ type: 3, invocationId: 's', result: null });
      expect(parse('{"type":3,"invocationId":"s","error":"bad"}')).toEqual({ type: 3, invocationId: 's', error: 'bad' });
      expect(parse('{"type":5,"invocationId":"7"}')).toEqual({ type: 5, invocationId: '7' });
      expect(parse('{"type":6}')).toEqual({ type: 6 });
      expect(parse('{"type":7}')).toEqual({ type: 7, allowReconnect: false });
      expect(parse('{"type":7,"error":"x","allowReconnect":true}')).toEqual({ type: 7, error: 'x', allowReconnect: true });
      expect(parse('{"type":8,"sequenceId":12}')).toEqual({ type: 8, sequenceId: 12 });
      expect(parse('{"sequenceId":13,"type":9}')).toEqual({ type: 9, sequenceId: 13 });
    });

    it('keeps string headers and skips unknown properties', () => {
      expect(parse('{"type":1,"headers":{"traceparent":"00-ab"},"extra":[1,{"a":2}],"target":"T","arguments":[]}')).toEqual({
        type: 1,
        headers: { traceparent: '00-ab' },
        target: 'T',
        arguments: [],
      });
    });

    it('returns null for an unknown message type, so the record is skipped', () => {
      expect(parse('{"type":99,"whatever":true}')).toBeNull();
      expect(parse('{"type":0}')).toBeNull();
    });

    it('finds several records in one buffer, skipping unknown ones, and leaves an incomplete tail', () => {
      const text = '{"type":6}' + RS + '{"type":42}' + RS + '{"arguments":["é"],"target":"A","type":1}' + RS + '{"type":1,"tar';
      const buffer = Buffer.from(text);
      const messages: Array<HubMessage | null> = [];
      let offset = 0;
      for (;;) {
        const bounds = protocol.findRecord(buffer, offset);
        if (bounds === null) break;
        messages.push(protocol.parseRecord(buffer, bounds.start, bounds.end));
        offset = bounds.next;
      }
      expect(messages).toEqual([{ type: 6 }, null, { type: 1, target: 'A', arguments: ['é'] }]);
      expect(buffer.toString('utf8', offset)).toBe('{"type":1,"tar');
      expect(protocol.findRecord(Buffer.from('{"type":6}'), 0)).toBeNull();
    });

    it.each<[string, string, string]>([
      ['no type', '{"target":"T","arguments":[]}', "Missing required property 'type'."],
      ['a string type', '{"type":"1","target":"T","arguments":[]}', "Expected 'type' to be of type Number."],
      ['Invocation without target', '{"type":1,"arguments":[]}', "Missing required property 'target'."],
      ['Invocation with a numeric target', '{"type":1,"target":5,"arguments":[]}', "Expected 'target' to be of type String."],
      ['Invocation without arguments', '{"type":1,"target":"T"}', "Missing required property 'arguments'."],
      ['Invocation with object arguments', '{"type":1,"target":"T","arguments":{}}', "Expected 'arguments' to be of type Array."],
      ['Invocation with a numeric invocationId', '{"type":1,"invocationId":1,"target":"T","arguments":[]}', "Expected 'invocationId' to be of type String."],
      ['StreamInvocation without invocationId', '{"type":4,"target":"T","arguments":[]}', "Missing required property 'invocationId'."],
      ['StreamInvocation with an empty invocationId', '{"type":4,"invocationId":"","target":"T","arguments":[]}', "Missing required property 'invocationId'."],
      ['streamIds that are not strings', '{"type":1,"target":"T","arguments":[],"streamIds":[1]}', "Expected 'streamIds' to contain only strings."],
      ['StreamItem without item', '{"type":2,"invocationId":"1"}', "Missing required property 'item'."],
      ['StreamItem without invocationId', '{"type":2,"item":1}', "Missing required property 'invocationId'."],
      ['Completion without invocationId', '{"type":3,"result":1}', "Missing required property 'invocationId'."],
      [
        'Completion with error and result',
        '{"type":3,"invocationId":"1","error":"e","result":1}',
        "The 'error' and 'result' properties are mutually exclusive.",
      ],
      [
        'Completion with error and a null result',
        '{"type":3,"invocationId":"1","result":null,"error":"e"}',
        "The 'error' and 'result' properties are mutually exclusive.",
      ],
      ['Completion with a numeric error', '{"type":3,"invocationId":"1","error":5}', "Expected 'error' to be of type String."],
      ['CancelInvocation without invocationId', '{"type":5}', "Missing required property 'invocationId'."],
      ['Ack without sequenceId', '{"type":8}', "Missing required property 'sequenceId'."],
      ['Sequence with a string sequenceId', '{"type":9,"sequenceId":"1"}', "Expected 'sequenceId' to be of type Number."],
      ['Sequence with a fractional sequenceId', '{"type":9,"sequenceId":1.5}', "Expected 'sequenceId' to be of type Number."],
      ['a header that is not a string', '{"type":1,"headers":{"a":1},"target":"T","arguments":[]}', "Expected header 'a' to be of type String."],
      ['headers that are an array', '{"type":1,"headers":["a"],"target":"T","arguments":[]}', "Expected 'headers' to be of type Object."],
      ['a JSON array', '[1]', 'Unexpected JSON Token Type. Expected a JSON Object.'],
      ['a JSON string', '"x"', 'Unexpected JSON Token Type. Expected a JSON Object.'],
      ['JSON null', 'null', 'Unexpected JSON Token Type. Expected a JSON Object.'],
    ])('refuses %s', (_name, json, message) => {
      expect(refusal(json).message).toBe(message);
    });

    it('refuses invalid JSON with the parser detail', () => {
      let detail = '';
      try {
        JSON.parse('{"type":1,');
      } catch (error) {
        detail = (error as Error).message;
      }
      expect(refusal('{"type":1,').message).toBe(`Error reading JSON. ${detail}`);
    });

    it('parses a record in the middle of a buffer by its bounds only', () => {
      const buffer = Buffer.from('garbage' + RS + '{"type":5,"invocationId":"9"}' + RS + 'more');
      const bounds = protocol.findRecord(buffer, 8)!;
      expect(protocol.parseRecord(buffer, bounds.start, bounds.end)).toEqual({ type: 5, invocationId: '9' });
      expect(bounds.next).toBe(buffer.length - 4);
    });

    it('reads back what it writes', () => {
      const messages: HubMessage[] = [
        { type: 1, invocationId: '1', target: 'T', arguments: [1, 'two', { three: [3] }, null] },
        { type: 2, invocationId: '1', item: [1] },
        { type: 3, invocationId: '1', result: { ok: true } },
        { type: 3, invocationId: '1', error: 'e' },
        { type: 7, error: 'x', allowReconnect: true },
        { type: 8, sequenceId: 3 },
      ];
      for (const message of messages) {
        const bytes = protocol.writeMessage(message);
        expect(protocol.parseRecord(bytes, 0, bytes.length - 1)).toEqual(message);
      }
    });
  });
});
