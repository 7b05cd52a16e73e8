import { findHandshakeRecord, parseHandshakeRequest, writeHandshakeResponse } from '../../src/protocol/handshake-protocol.js';
import { InvalidDataError } from '../../src/protocol/protocol-errors.js';

const RS = '\u001e';

function parse(json: string) {
  const buffer = Buffer.from(json + RS);
  const bounds = findHandshakeRecord(buffer)!;
  return parseHandshakeRequest(buffer, bounds.start, bounds.end);
}

function refusal(json: string): string {
  try {
    parse(json);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidDataError);
    expect((error as Error).name).toBe('InvalidDataException');
    return (error as Error).message;
  }
  throw new Error(`parsed without error: ${json}`);
}

describe('handshake protocol', () => {
  it('reads the request the JS client sends', () => {
    expect(parse('{"protocol":"json","version":1}')).toEqual({ protocol: 'json', version: 1 });
    expect(parse('{"protocol":"messagepack","version":2}')).toEqual({ protocol: 'messagepack', version: 2 });
  });

  it('accepts any property order and ignores extra properties', () => {
    expect(parse('{"version":1,"protocol":"json"}')).toEqual({ protocol: 'json', version: 1 });
    expect(parse('{"minorVersion":0,"protocol":"json","extra":{"a":[1]},"version":1,"more":null}')).toEqual({
      protocol: 'json',
      version: 1,
    });
  });

  it.each<[string, string, string]>([
    ['no protocol', '{"version":1}', "Missing required property 'protocol'."],
    ['no version', '{"protocol":"json"}', "Missing required property 'version'."],
    ['an empty object', '{}', "Missing required property 'protocol'."],
    ['a numeric protocol', '{"protocol":1,"version":1}', "Expected 'protocol' to be of type String."],
    ['a string version', '{"protocol":"json","version":"1"}', "Expected 'version' to be of type Number."],
    ['a fractional version', '{"protocol":"json","version":1.5}', "Expected 'version' to be of type Number."],
    ['a JSON array', '["json",1]', 'Unexpected JSON Token Type. Expected a JSON Object.'],
  ])('refuses %s', (_name, json, message) => {
    expect(refusal(json)).toBe(message);
  });

  it('refuses invalid JSON with the parser detail', () => {
    let detail = '';
    try {
      JSON.parse('{"protocol":');
    } catch (error) {
      detail = (error as Error).message;
    }
    expect(refusal('{"protocol":')).toBe(`Error reading JSON. ${detail}`);
  });

  it('finds the handshake record and where the messages after it start', () => {
    const buffer = Buffer.from('{"protocol":"json","version":1}' + RS + '{"type":6}' + RS);
    const bounds = findHandshakeRecord(buffer)!;
    expect(bounds).toEqual({ start: 0, end: 31, next: 32 });
    expect(parseHandshakeRequest(buffer, bounds.start, bounds.end)).toEqual({ protocol: 'json', version: 1 });
    expect(buffer.toString('utf8', bounds.next)).toBe('{"type":6}' + RS);
    expect(findHandshakeRecord(Buffer.from('{"protocol":"json","version":1}'))).toBeNull();
  });

  it('answers success with exactly the bytes 7b 7d 1e', () => {
    expect([...writeHandshakeResponse()]).toEqual([0x7b, 0x7d, 0x1e]);
  });

  it('answers an error as {"error":"..."} + RS, JSON-escaped', () => {
    expect(writeHandshakeResponse("The protocol 'foo' is not supported.").toString('utf8')).toBe(`{"error":"The protocol 'foo' is not supported."}${RS}`);
    expect(writeHandshakeResponse('a "quoted" \\ name').toString('utf8')).toBe(`{"error":"a \\"quoted\\" \\\\ name"}${RS}`);
  });
});
