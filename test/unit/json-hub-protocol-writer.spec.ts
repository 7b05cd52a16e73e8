import { HubMessage } from '../../src/protocol/hub-messages.js';
import { JsonHubProtocol } from '../../src/protocol/json-hub-protocol.js';

/*
 * The JSON writer builds each record member by member (the hot path); these are the cases where that
 * could differ from stringifying one object: values JSON cannot hold, binary at the top of a payload,
 * escaping in names, and errors stringify raises.
 */
const protocol = new JsonHubProtocol();
const text = (message: HubMessage) => protocol.writeMessage(message).toString('utf8');
const RS = '\u001e';

describe('JsonHubProtocol writer edge cases', () => {
  it('leaves out a member whose value JSON cannot hold, as JSON.stringify does', () => {
    const fn = () => 1;
    expect(text({ type: 3, invocationId: '1', result: fn })).toBe('{"type":3,"invocationId":"1"}' + RS);
    expect(text({ type: 2, invocationId: '1', item: fn })).toBe('{"type":2,"invocationId":"1"}' + RS);
    expect(text({ type: 1, target: 'M', arguments: [undefined, fn, 1] })).toBe('{"type":1,"target":"M","arguments":[null,null,1]}' + RS);
  });

  it('writes a Buffer or Uint8Array as base64 at the top of a payload and nested in it', () => {
    expect(text({ type: 3, invocationId: '1', result: Buffer.from('abc') })).toBe('{"type":3,"invocationId":"1","result":"YWJj"}' + RS);
    expect(text({ type: 2, invocationId: '1', item: new Uint8Array([1, 2, 3]) })).toBe('{"type":2,"invocationId":"1","item":"AQID"}' + RS);
    expect(text({ type: 1, target: 'M', arguments: [{ data: Buffer.from('abc') }] })).toBe('{"type":1,"target":"M","arguments":[{"data":"YWJj"}]}' + RS);
  });

  it('escapes targets, ids and errors', () => {
    expect(text({ type: 1, invocationId: 'a"b', target: 'M\\1', arguments: [] })).toBe(
      '{"type":1,"invocationId":"a\\"b","target":"M\\\\1","arguments":[]}' + RS,
    );
    expect(text({ type: 3, invocationId: '1', error: 'line\nbreak "quoted"' })).toBe('{"type":3,"invocationId":"1","error":"line\\nbreak \\"quoted\\""}' + RS);
    expect(text({ type: 7, error: 'bye "now"', allowReconnect: true })).toBe('{"type":7,"error":"bye \\"now\\"","allowReconnect":true}' + RS);
  });

  it('writes Dates through their toJSON, and Ack/Sequence ids as numbers', () => {
    expect(text({ type: 3, invocationId: '1', result: new Date(0) })).toBe('{"type":3,"invocationId":"1","result":"1970-01-01T00:00:00.000Z"}' + RS);
    expect(text({ type: 8, sequenceId: 12 })).toBe('{"type":8,"sequenceId":12}' + RS);
    expect(text({ type: 9, sequenceId: 1 })).toBe('{"type":9,"sequenceId":1}' + RS);
  });

  it('throws what JSON.stringify throws for a cyclic or BigInt payload', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => protocol.writeMessage({ type: 3, invocationId: '1', result: cyclic })).toThrow(TypeError);
    expect(() => protocol.writeMessage({ type: 1, target: 'M', arguments: [1n] })).toThrow(TypeError);
  });

  it('hands out the same Ping bytes every time', () => {
    const first = protocol.writeMessage({ type: 6 });
    expect(first.toString()).toBe('{"type":6}' + RS);
    expect(protocol.writeMessage({ type: 6 })).toBe(first);
  });
});
