import type { LoggerService } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { Hub, SignalRModule, type HubRequest, type SignalRLogEvent } from '../../src/index.js';
import { ClientCausedLogs } from '../../src/logging/rate-limited-log.js';
import { redisBackplane } from '../../src/redis/index.js';
import { startApp, TestApp } from '../support/app.js';
import { EventStream, negotiate, request } from '../support/http.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { RedisServer, startRedis } from '../support/redis.js';

const PATH = '/hubs/endpoint-failures';
const REQUIRED = '/hubs/endpoint-failures-required';
const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;

@Hub(PATH)
class FailuresHub extends Hub {
  echo(text: string): string {
    return text;
  }
}

@Hub(REQUIRED, { requireAuthentication: true })
class RequiredFailuresHub extends Hub {}

/** `?user=forged` makes authenticate throw, as jwtAuthenticator does for a token that does not verify. */
function authenticate(request: HubRequest): { sub: string } | undefined {
  const user = request.query.get('user');
  if (user === 'forged') throw new Error('invalid signature');
  return user ? { sub: user } : undefined;
}

/** `broken` is a user whose identifier cannot be found: an application error, not the client's. */
function userIdProvider(user: unknown): string {
  const { sub } = user as { sub: string };
  if (sub === 'broken') throw new TypeError('the user store is down');
  return sub;
}

interface Line {
  level: string;
  context: unknown;
  message: unknown;
  stack?: unknown;
}

/**
 * Every warning and error Nest's logger is handed, with its context (and the stack of an error), and
 * the log events among its information lines (Nest's own start-up lines are text).
 */
function linesLogger(lines: Line[]): LoggerService {
  return {
    log: (message: unknown, ...rest: unknown[]) => {
      if (typeof message === 'object') lines.push({ level: 'log', context: rest[rest.length - 1], message });
    },
    debug: () => undefined,
    verbose: () => undefined,
    warn: (message: unknown, ...rest: unknown[]) => lines.push({ level: 'warn', context: rest[rest.length - 1], message }),
    error: (message: unknown, ...rest: unknown[]) =>
      lines.push(rest.length > 1 ? { level: 'error', context: rest[rest.length - 1], message, stack: rest[0] } : { level: 'error', context: rest[0], message }),
    fatal: (message: unknown, ...rest: unknown[]) => lines.push({ level: 'fatal', context: rest[rest.length - 1], message }),
  };
}

/** The one line an unexpected exception while serving `what` writes. */
function failedLine(what: string): Line {
  return {
    level: 'error',
    context: 'SignalR',
    message: {
      event: 'ApplicationError',
      text: `Failed to serve ${what} on ${PATH}: an unhandled exception was thrown; the request is answered with 500.`,
      error: 'TypeError: the user store is down',
    },
    stack: expect.stringMatching(/^TypeError: the user store is down\n\s+at ConnectionOwners.userIdProvider /),
  };
}

/** The one line an authenticate that threw writes (a 401, as for any failed authentication). */
function refusedLine(path: string): Line {
  return {
    level: 'log',
    context: 'SignalR',
    message: {
      event: 'AuthenticationFailed',
      text: `authenticate threw for a request on ${path}; it is refused with 401. Error: invalid signature`,
      error: 'Error: invalid signature',
    },
  };
}

/** The lines as plain objects (a log event's own properties are its fields). */
function plain(lines: Line[]): Line[] {
  return lines.map((line) => ({ ...line, message: typeof line.message === 'object' ? { ...(line.message as SignalRLogEvent) } : line.message }));
}

/** Each test asserts its own lines: the process-wide limit on client-caused lines starts afresh. */
beforeEach(() => Object.values(ClientCausedLogs).forEach((log) => log.endWindow()));

/**
 * An endpoint that answers 500 because something threw says why in the log, once (ASP.NET Core's
 * server logs ApplicationError for it); an authenticate that throws still refuses with 401, and is
 * logged at information level, unlike a request that simply has no user.
 */
describe('endpoint failures are logged', () => {
  let app: TestApp;
  const lines: Line[] = [];
  const hub = (query: string) => app.url(`${PATH}?${query}`);

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot({ authenticate, userIdProvider })], providers: [FailuresHub, RequiredFailuresHub] }, (nest) =>
      nest.useLogger(linesLogger(lines)),
    );
  });
  beforeEach(() => (lines.length = 0));
  afterAll(async () => {
    await app?.close();
  });

  /** A long-polling connection of `ada`, started and handshaken; returns its URL without a user. */
  async function pollingConnection(): Promise<string> {
    const { connectionToken } = await negotiate(hub('user=ada'));
    const url = hub(`id=${encodeURIComponent(connectionToken)}`);
    expect((await request(`${url}&user=ada`)).status).toBe(200);
    expect((await request(`${url}&user=ada`, { method: 'POST', body: HANDSHAKE })).status).toBe(200);
    return url;
  }

  it('negotiate: 500 and one ApplicationError line with the stack', async () => {
    const response = await request(`${app.url(PATH)}/negotiate?negotiateVersion=1&user=broken`, { method: 'POST' });
    expect({ status: response.status, body: response.body.toString() }).toEqual({ status: 500, body: '' });
    expect(plain(lines)).toEqual([failedLine('negotiate')]);
  });

  it('a WebSocket upgrade: 500 and one ApplicationError line', async () => {
    expect(await RawSocket.upgradeStatus(hub('user=broken'))).toBe(500);
    expect(plain(lines)).toEqual([failedLine('a WebSocket upgrade')]);
  });

  it('the GET that starts an event stream: 500 and one ApplicationError line', async () => {
    const { connectionToken } = await negotiate(hub('user=ada'));
    const stream = await EventStream.open(hub(`id=${encodeURIComponent(connectionToken)}&user=broken`));
    await stream.end();
    expect({ status: stream.status, text: stream.text }).toEqual({ status: 500, text: '' });
    expect(plain(lines)).toEqual([failedLine('a GET request')]);
  });

  it.each([
    ['GET', undefined],
    ['POST', 'x'],
    ['DELETE', undefined],
  ])('a long-polling %s on a running connection: 500 and one ApplicationError line', async (method, body) => {
    const url = await pollingConnection();
    const response = await request(`${url}&user=broken`, { method, body });
    expect({ status: response.status, body: response.body.toString() }).toEqual({ status: 500, body: '' });
    expect(plain(lines)).toEqual([failedLine(`a ${method} request`)]);
    expect((await request(`${url}&user=ada`, { method: 'DELETE' })).status).toBe(202);
  });

  it('authenticate that throws at negotiate, upgrade and send: 401 and one AuthenticationFailed line each', async () => {
    const negotiated = await request(`${app.url(PATH)}/negotiate?negotiateVersion=1&user=forged`, { method: 'POST' });
    expect({ status: negotiated.status, body: negotiated.body.toString() }).toEqual({ status: 401, body: '' });
    expect(plain(lines)).toEqual([refusedLine(PATH)]);

    lines.length = 0;
    expect(await RawSocket.upgradeStatus(hub('user=forged'))).toBe(401);
    expect(plain(lines)).toEqual([refusedLine(PATH)]);

    const url = await pollingConnection();
    lines.length = 0;
    const sent = await request(`${url}&user=forged`, { method: 'POST', body: 'x' });
    expect({ status: sent.status, body: sent.body.toString() }).toEqual({ status: 401, body: '' });
    expect(plain(lines)).toEqual([refusedLine(PATH)]);
    expect((await request(`${url}&user=ada`, { method: 'DELETE' })).status).toBe(202);
  });

  it('a request that simply has no user is refused with 401 and logs nothing', async () => {
    const negotiated = await request(`${app.url(REQUIRED)}/negotiate?negotiateVersion=1`, { method: 'POST' });
    expect(negotiated.status).toBe(401);
    expect(await RawSocket.upgradeStatus(app.url(REQUIRED))).toBe(401);
    expect(lines).toEqual([]);
  });
});

/**
 * A request carried to the instance that holds its connection (issue 18) fails there: that instance
 * logs it, once, and the 500 reaches the client through the instance it asked.
 */
describe('endpoint failures of carried requests are logged once, by the instance that holds the connection', () => {
  let redis: RedisServer;
  let owner: TestApp;
  let asker: TestApp;
  const lines: Line[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const connectionTokenSecret = randomBytes(32);
    const instance = () =>
      startApp(
        {
          imports: [SignalRModule.forRoot({ authenticate, userIdProvider, connectionTokenSecret, backplane: redisBackplane({ url: redis.url }) })],
          providers: [FailuresHub],
        },
        (nest) => nest.useLogger(linesLogger(lines)),
      );
    owner = await instance();
    asker = await instance();
  }, 30_000);
  beforeEach(() => (lines.length = 0));
  afterAll(async () => {
    await asker?.close();
    await owner?.close();
    await redis?.close();
  });

  it('a POST carried to the owner fails there: 500 through the asker, one ApplicationError line', async () => {
    const { connectionToken } = await negotiate(owner.url(`${PATH}?user=ada`));
    const query = `id=${encodeURIComponent(connectionToken)}`;
    expect((await request(owner.url(`${PATH}?${query}&user=ada`))).status).toBe(200);
    // Carried: the asker does not hold the connection.
    expect((await request(asker.url(`${PATH}?${query}&user=ada`), { method: 'POST', body: HANDSHAKE })).status).toBe(200);

    const response = await request(asker.url(`${PATH}?${query}&user=broken`), { method: 'POST', body: 'x' });
    expect({ status: response.status, body: response.body.toString() }).toEqual({ status: 500, body: '' });
    expect(plain(lines)).toEqual([failedLine('a POST request carried from another instance')]);
    expect((await request(owner.url(`${PATH}?${query}&user=ada`), { method: 'DELETE' })).status).toBe(202);
  });
});
