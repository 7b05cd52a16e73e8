/*
 * The HTTP side of a hub: negotiate with bad versions, methods and bodies; requests with missing,
 * unknown or foreign connection ids; Long Polling and Server-Sent Events connections fed malformed
 * handshakes and hub messages, polled, aborted and deleted; wrong methods and headers. Each request's
 * status is the outcome.
 */
import * as http from 'http';
import { Prng } from '../prng.js';
import { Avoidable, hubMessageCase } from './hub-messages.js';

const HUB = '/hubs/fuzz';
const RS = '\u001e';

interface Reply {
  status: string;
  body: string;
}

interface RequestSpec {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Cut a streaming response (a poll, an event stream) this long after its headers. */
  holdMs?: number;
}

/** The keep-alive pool of one run's HTTP cases; destroy it when the run ends. */
export function httpAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 64 });
}

function send(agent: http.Agent, port: number, spec: RequestSpec): Promise<Reply> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (reply: Reply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(reply);
    };
    const request = http.request({ host: '127.0.0.1', port, method: spec.method, path: spec.path, headers: spec.headers, agent });
    const timer = setTimeout(() => {
      request.destroy();
      finish({ status: 'no response within 3 s', body: '' });
    }, 3000);
    request.on('error', (error) => finish({ status: `error ${(error as NodeJS.ErrnoException).code ?? error.message}`, body: '' }));
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body.length < 4096 ? (body += chunk.toString()) : undefined));
      response.on('end', () => finish({ status: String(response.statusCode), body }));
      response.on('error', () => finish({ status: `${response.statusCode} (cut)`, body }));
      if (spec.holdMs !== undefined) {
        const hold = setTimeout(() => {
          request.destroy();
          finish({ status: `${response.statusCode} (held, cut)`, body });
        }, spec.holdMs);
        response.once('close', () => clearTimeout(hold));
      }
    });
    request.end(spec.body);
  });
}

async function negotiate(agent: http.Agent, port: number): Promise<string | null> {
  const reply = await send(agent, port, { method: 'POST', path: `${HUB}/negotiate?negotiateVersion=1` });
  try {
    return (JSON.parse(reply.body) as { connectionToken?: string }).connectionToken ?? null;
  } catch {
    return null;
  }
}

function randomId(rng: Prng): string | undefined {
  return rng.pick([undefined, '', 'nope', 'x'.repeat(5000), '..%2F..', '%00', 'é', String(rng.next())]);
}

/** One case; resolves with its kind and the statuses seen, in order. */
export async function httpCase(
  rng: Prng,
  agent: http.Agent,
  port: number,
  caseId: string,
  avoid: readonly Avoidable[],
): Promise<{ kind: string; outcome: string }> {
  const statuses: string[] = [];
  const step = async (spec: RequestSpec) => {
    const reply = await send(agent, port, spec);
    statuses.push(reply.status);
    return reply;
  };
  let kind: string;
  switch (rng.int(6)) {
    case 0: {
      kind = 'negotiate';
      const version = rng.pick([
        '',
        'negotiateVersion=0',
        'negotiateVersion=1',
        'negotiateVersion=2',
        'negotiateVersion=-1',
        'negotiateVersion=1.5',
        'negotiateVersion=abc',
        'negotiateVersion=99999999999999999999',
        'NegotiateVersion=1&negotiateVersion=0',
        'negotiateVersion=%00',
        'useStatefulReconnect=maybe',
      ]);
      const method = rng.chance(0.8) ? 'POST' : rng.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
      const body = rng.chance(0.3) ? rng.bytes(rng.int(4096)) : undefined;
      const headers = rng.chance(0.3) ? { 'content-type': rng.pick(['application/json', 'text/plain', 'x/y; charset=nope', '']) } : undefined;
      await step({ method, path: `${HUB}/negotiate?${version}`, body, headers });
      break;
    }
    case 1: {
      kind = 'unknown-id';
      const id = randomId(rng);
      const method = rng.pick(['GET', 'POST', 'DELETE']);
      const accept = rng.chance(0.3) ? { accept: 'text/event-stream' } : undefined;
      await step({
        method,
        path: id === undefined ? HUB : `${HUB}?id=${id}`,
        body: method === 'POST' ? rng.bytes(rng.int(100)) : undefined,
        headers: accept,
        holdMs: 200,
      });
      break;
    }
    case 2:
    case 3: {
      kind = 'long-polling';
      const token = await negotiate(agent, port);
      if (token === null) return { kind, outcome: 'negotiate failed' };
      const path = `${HUB}?id=${encodeURIComponent(token)}`;
      const handshake = rng.chance(0.8)
        ? `{"protocol":"json","version":1}${RS}`
        : rng.pick(['{"protocol":"messagepack","version":1}' + RS, '{"protocol":"json"' + RS, 'garbage']);
      await step({ method: 'POST', path, body: handshake, headers: { 'content-type': 'text/plain' } });
      const hub = hubMessageCase(rng, 'json', caseId, avoid);
      await step({ method: 'POST', path, body: Buffer.concat(hub.frames.map((frame) => Buffer.from(frame.data))) });
      await step({ method: 'GET', path, holdMs: 100 });
      if (rng.chance(0.2)) await step({ method: 'POST', path, body: rng.bytes(1024 * (1 + rng.int(64))) });
      if (rng.chance(0.8)) await step({ method: 'DELETE', path });
      kind = `long-polling/${hub.kind}`;
      break;
    }
    case 4: {
      kind = 'server-sent-events';
      const token = await negotiate(agent, port);
      if (token === null) return { kind, outcome: 'negotiate failed' };
      const path = `${HUB}?id=${encodeURIComponent(token)}`;
      const stream = send(agent, port, { method: 'GET', path, headers: { accept: rng.chance(0.9) ? 'text/event-stream' : 'text/html' }, holdMs: 300 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await step({ method: 'POST', path, body: `{"protocol":"json","version":1}${RS}` });
      const hub = hubMessageCase(rng, 'json', caseId, avoid);
      await step({ method: 'POST', path, body: Buffer.concat(hub.frames.map((frame) => Buffer.from(frame.data))) });
      if (rng.chance(0.3)) await step({ method: 'GET', path, headers: { accept: 'text/event-stream' }, holdMs: 50 });
      if (rng.chance(0.3)) await step({ method: 'DELETE', path });
      statuses.unshift((await stream).status);
      kind = `server-sent-events/${hub.kind}`;
      break;
    }
    default: {
      kind = 'wrong-method-or-headers';
      const method = rng.pick(['PUT', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'GET']);
      const headers = rng.pick<Record<string, string>>([
        {},
        { origin: 'null' },
        { 'access-control-request-method': 'POST', origin: 'http://evil' },
        { upgrade: 'websocket' },
        { connection: 'upgrade', upgrade: 'h2c' },
      ]);
      await step({ method, path: rng.chance(0.5) ? HUB : `${HUB}/negotiate/extra`, headers, holdMs: 200 });
    }
  }
  return { kind: kind.replace(/\/(bytes|structure|odd-invocation)\/.*/, '/$1'), outcome: statuses.join(', ') };
}
