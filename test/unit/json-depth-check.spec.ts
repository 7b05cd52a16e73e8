import { checkJsonDepth } from '../../src/protocol/json-depth-check.js';
import { InvalidDataError } from '../../src/protocol/protocol-errors.js';
import { JsonHubProtocol } from '../../src/protocol/json-hub-protocol.js';

const TOO_DEEP = new InvalidDataError('The message exceeds the maximum nesting depth of 500.');

function check(text: string): void {
  const bytes = Buffer.from(text);
  checkJsonDepth(bytes, 0, bytes.length);
}

/** An invocation whose single argument is `levels` arrays deep: the record is level 0, `arguments` level 1. */
function invocation(levels: number, padding = ''): string {
  return `{"type":1,"target":"Echo","pad":"${padding}","arguments":[${'['.repeat(levels)}1${']'.repeat(levels)}]}`;
}

describe('checkJsonDepth', () => {
  it('refuses a container at level 500 and accepts level 499, as for MessagePack', () => {
    expect(() => check(invocation(498))).not.toThrow();
    expect(() => check(invocation(499))).toThrow(TOO_DEEP);
  });

  it('refuses 100,000 nested brackets, closed or not, before JSON.parse builds them', () => {
    expect(() => check('['.repeat(100_000))).toThrow(TOO_DEEP);
    expect(() => check('{"a":'.repeat(100_000))).toThrow(TOO_DEEP);
    expect(() => check('['.repeat(100_000) + ']'.repeat(100_000))).toThrow(TOO_DEEP);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(() => check(invocation(1, '['.repeat(5000)))).not.toThrow();
    expect(() => check(invocation(1, '\\"'.repeat(10) + '{'.repeat(5000)))).not.toThrow();
    expect(() => check(invocation(1, '\\\\') + '['.repeat(1200))).toThrow(TOO_DEEP); // an escaped backslash ends nothing early
  });

  it('reads only between start and end', () => {
    const bytes = Buffer.from('['.repeat(2000) + invocation(2));
    expect(() => checkJsonDepth(bytes, 2000, bytes.length)).not.toThrow();
    expect(() => checkJsonDepth(bytes, 0, 1001)).toThrow(TOO_DEEP);
  });

  it('is what the JSON hub protocol and the handshake use: a deep record is refused with the depth error', () => {
    const protocol = new JsonHubProtocol();
    const deep = Buffer.from(invocation(600) + '\u001e');
    const bounds = protocol.findRecord(deep, 0)!;
    expect(() => protocol.parseRecord(deep, bounds.start, bounds.end)).toThrow(TOO_DEEP);
    const fine = Buffer.from(invocation(400) + '\u001e');
    expect(protocol.parseRecord(fine, 0, fine.length - 1)).toMatchObject({ type: 1, target: 'Echo' });
  });
});

describe('checkJsonDepth on long strings', () => {
  it('finds the end of a long string past escaped quotes and backslashes', () => {
    const long = 'x'.repeat(40);
    // a quote escaped after 40 bytes, then an escaped backslash right before the real end
    expect(() => check(invocation(1, `${long}\\"${'['.repeat(2000)}\\\\`) + '['.repeat(10))).not.toThrow();
    // three backslashes: the last escapes the quote, so the string goes on and the brackets stay inside it
    expect(() => check(invocation(1, `${long}\\\\\\"${'['.repeat(2000)}`))).not.toThrow();
    // two backslashes: the quote ends the string, so what follows is counted
    expect(() => check(`{"a":"${long}\\\\"` + ',"b":' + '['.repeat(1200))).toThrow(TOO_DEEP);
  });

  it('stops at an unterminated long string and leaves it to JSON.parse', () => {
    expect(() => check('{"a":"' + 'x'.repeat(2000) + '['.repeat(600))).not.toThrow();
  });
});
