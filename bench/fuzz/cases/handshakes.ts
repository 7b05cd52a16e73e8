/*
 * Malformed and odd handshake requests on a fresh WebSocket: unknown protocols and versions, wrong
 * field types, truncations, bit flips, missing separators, oversized or deeply nested JSON, several
 * records at once. The server answers with an error record (or `{}`), closes, or, for a handshake
 * that never completes, waits for the handshake timeout.
 */
import WebSocket from 'ws';
import { Prng } from '../prng.js';
import { normalize } from '../tally.js';

const RS = '\u001e';

function handshakeBytes(rng: Prng): { kind: string; data: Buffer; binary: boolean } {
  const valid = `{"protocol":"json","version":1}${RS}`;
  const json = (value: unknown) => Buffer.from(JSON.stringify(value) + RS);
  switch (rng.int(12)) {
    case 0:
      return { kind: 'unknown-protocol', data: json({ protocol: rng.pick(['nope', '', 'JSON', 'messagepack2', 'x'.repeat(500)]), version: 1 }), binary: false };
    case 1:
      return {
        kind: 'odd-version',
        data: json({ protocol: rng.pick(['json', 'messagepack']), version: rng.pick([0, 2, 99, -1, '1', 1.5, null, 2 ** 53, {}]) }),
        binary: false,
      };
    case 2:
      return {
        kind: 'wrong-types',
        data: json(rng.pick([{ protocol: 1, version: 1 }, { protocol: null }, [], 'json', 1, { version: 1 }, { protocol: ['json'] }])),
        binary: false,
      };
    case 3:
      return { kind: 'truncated', data: Buffer.from(valid.slice(0, rng.int(valid.length - 1)) + RS), binary: false };
    case 4: {
      const bytes = Buffer.from(valid);
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) bytes[rng.int(bytes.length - 1)] ^= 1 << rng.int(8);
      return { kind: 'bitflip', data: bytes, binary: rng.chance(0.3) };
    }
    case 5:
      return { kind: 'no-separator', data: Buffer.from(valid.slice(0, -1)), binary: false };
    case 6:
      return {
        kind: 'oversized',
        data: Buffer.from(`{"protocol":"json","version":1,"pad":"${'p'.repeat(33_000 + rng.int(10_000))}"}${rng.chance(0.5) ? RS : ''}`),
        binary: false,
      };
    case 7:
      return { kind: 'deep-nesting', data: Buffer.from(`{"protocol":"json","version":1,"x":${'['.repeat(5000 + rng.int(10_000))}${RS}`), binary: false };
    case 8:
      return { kind: 'two-handshakes', data: Buffer.from(valid + valid + `{"type":1,"target":"Echo","arguments":[1],"invocationId":"1"}${RS}`), binary: false };
    case 9:
      return { kind: 'garbage', data: rng.bytes(1 + rng.int(100)), binary: rng.chance(0.5) };
    case 10:
      return { kind: 'empty-record', data: Buffer.from(rng.pick([RS, `${RS}${RS}`, `{}${RS}`, `null${RS}`])), binary: false };
    default:
      return { kind: 'messagepack-over-text', data: Buffer.from(`{"protocol":"messagepack","version":1}${RS}`), binary: false };
  }
}

/** Sends one handshake on a new socket; resolves with the server's answer. */
export function handshakeCase(rng: Prng, url: string): Promise<{ kind: string; outcome: string }> {
  const { kind, data, binary } = handshakeBytes(rng);
  // A handshake that may never complete: mostly given up on soon, now and then waited on past the server's 2 s timeout.
  const incomplete = kind === 'no-separator' || kind === 'garbage';
  const patience = incomplete ? (rng.chance(0.02) ? 3000 : 200) : 2000;
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    let settled = false;
    const finish = (outcome: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.terminate();
      resolve({ kind, outcome });
    };
    const timer = setTimeout(() => finish('no answer (incomplete handshake)'), patience);
    socket.on('error', (error) => finish(`error ${normalize(error.message)}`));
    socket.on('open', () => socket.send(data, { binary }));
    socket.on('message', (reply: Buffer) => {
      const text = reply.toString();
      finish(text.startsWith('{}') ? 'accepted' : `answered ${normalize(text.replace(RS, ''))}`);
    });
    socket.on('close', (code) => finish(`closed ${code} without an answer`));
  });
}
