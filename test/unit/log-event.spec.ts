import { inspect } from 'util';
import { describeError, logEvent } from '../../src/logging/log-event.js';

describe('logEvent', () => {
  it('has the event, the text and only the fields that apply as own properties, in a stable order', () => {
    const line = logEvent('FailedInvokingHubMethod', "Failed to invoke hub method 'send'.", {
      transport: 'LongPolling',
      connectionId: 'c1',
      user: undefined,
      hub: 'ChatHub',
      method: 'send',
    });
    expect(Object.keys(line)).toEqual(['event', 'text', 'hub', 'method', 'connectionId', 'transport']);
    expect(JSON.stringify(line)).toBe(
      '{"event":"FailedInvokingHubMethod","text":"Failed to invoke hub method \'send\'.","hub":"ChatHub","method":"send","connectionId":"c1","transport":"LongPolling"}',
    );
    expect(String(line)).toBe("Failed to invoke hub method 'send'.");
  });

  it('inspects as the text followed by the fields, quoting values with spaces, quotes or equals signs', () => {
    const line = logEvent('HandshakeFailed', 'Handshake failed.', { hub: 'ChatHub', connectionId: 'a=b', error: 'The protocol \'x "y"\' is not supported.' });
    expect(inspect(line)).toBe('Handshake failed. [event=HandshakeFailed hub=ChatHub connectionId="a=b" error="The protocol \'x \\"y\\"\' is not supported."]');
    expect(inspect(logEvent('ConnectionRestored', 'Redis backplane connected again.'))).toBe('Redis backplane connected again. [event=ConnectionRestored]');
  });

  it('describes errors as Type: message, and anything else thrown as util.inspect shows it on one line', () => {
    expect(describeError(new TypeError('bad'))).toBe('TypeError: bad');
    expect(describeError('plain text')).toBe('plain text');
    expect(describeError({ code: 42, nested: { deep: [1, 2] } })).toBe('{ code: 42, nested: { deep: [ 1, 2 ] } }');
  });
});
