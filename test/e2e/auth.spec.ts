import { HttpTransportType, HubConnection } from '@microsoft/signalr';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { generateKeyPairSync } from 'crypto';
import { jwtAuthenticator, SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { IdentityHub, OpenIdentityHub, RequiredIdentityHub } from '../fixtures/auth-identity.hubs.js';
import { forgedTokens, signalRWithJwt, token } from '../fixtures/auth-tokens.js';
import { startApp, TestApp } from '../support/app.js';
import { buildClient, connect, recordCalls, stopAll, TRANSPORTS, UNAUTHORIZED } from '../support/client.js';
import { EventStream, negotiate, request } from '../support/http.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;
/** Where the official Node client puts its token on the request that carries each transport. */
const TOKEN_IN = { WebSockets: 'header', ServerSentEvents: 'query', LongPolling: 'header' } as const;

/** A 401 with an empty body, as the official client needs it. */
function expectUnauthorized(response: { status: number; body: Buffer }): void {
  expect({ status: response.status, body: response.body.toString() }).toEqual({ status: 401, body: '' });
}

/** Asks the hub who the caller is over a raw WebSocket already open. */
async function rawWhoAmI(socket: RawSocket): Promise<unknown> {
  socket.sendText(HANDSHAKE);
  expect((await socket.nextFrame()).data.toString()).toBe(`{}${RS}`);
  socket.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
  return (await socket.nextMessage()).result;
}

describe('JWT authentication with @nestjs/jwt', () => {
  let app: TestApp;
  const required = () => app.url('/hubs/identity-required');
  const ada = token({ sub: 'ada', name: 'Ada' });

  beforeAll(async () => {
    app = await startApp({
      imports: [signalRWithJwt({ cookie: 'access_token' })],
      providers: [IdentityHub, RequiredIdentityHub],
    });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it('refuses negotiate without a token with 401 and an empty body: the official client fails with the exact error', async () => {
    for (const [, transport] of TRANSPORTS) {
      await expect(buildClient(required(), { transport }).start()).rejects.toThrow(new Error(UNAUTHORIZED));
    }
    const response = await request(`${required()}/negotiate?negotiateVersion=1`, { method: 'POST' });
    expectUnauthorized(response);
    expect(response.headers['content-length']).toBe('0');
    expect(app.app.get(SignalRServer).stats().registered).toBe(0);
  });

  it('refuses the request that starts a transport without a token, as negotiate; the connection stays usable', async () => {
    const { connectionToken } = await negotiate(required(), { headers: { Authorization: `Bearer ${ada}` } });
    const url = `${required()}?id=${connectionToken}`;
    await expect(RawSocket.open(url)).rejects.toMatchObject({ status: 401, body: '' });
    const stream = await EventStream.open(url);
    await stream.end();
    expect({ status: stream.status, text: stream.text }).toEqual({ status: 401, text: '' });
    expectUnauthorized(await request(url));
    // None of the refusals started the connection: it still opens with a token.
    const socket = await RawSocket.open(`${url}&access_token=${ada}`);
    expect(await rawWhoAmI(socket)).toMatchObject({ userIdentifier: 'ada', transport: 'WebSockets', token: 'query' });
    socket.close();
  });

  it.each(TRANSPORTS)('lets the official client in with the token of its accessTokenFactory over %s; the user id is `sub`', async (name, transport) => {
    const client = await connect(required(), { transport, accessTokenFactory: () => ada });
    expect(await client.invoke('WhoAmI')).toEqual({
      userIdentifier: 'ada',
      name: 'Ada',
      via: null,
      exp: expect.any(Number),
      transport: name,
      token: TOKEN_IN[name],
    });
  });

  it('takes the token from the Authorization header or from the access_token query parameter', async () => {
    const negotiateUrl = `${required()}/negotiate?negotiateVersion=1`;
    expect((await request(negotiateUrl, { method: 'POST', headers: { Authorization: `Bearer ${ada}` } })).status).toBe(200);
    expect((await request(`${negotiateUrl}&access_token=${ada}`, { method: 'POST' })).status).toBe(200);
    // Another scheme is no bearer token: anonymous, so refused here.
    expectUnauthorized(await request(negotiateUrl, { method: 'POST', headers: { Authorization: `Basic ${ada}` } }));

    const viaHeader = await RawSocket.open(
      `${required()}?id=${(await negotiate(required(), { headers: { Authorization: `Bearer ${ada}` } })).connectionToken}`,
      {
        Authorization: `Bearer ${ada}`,
      },
    );
    expect(await rawWhoAmI(viaHeader)).toMatchObject({ userIdentifier: 'ada', token: 'header' });
    const viaQuery = await RawSocket.open(`${required()}?access_token=${ada}`); // no negotiate: the upgrade alone decides
    expect(await rawWhoAmI(viaQuery)).toMatchObject({ userIdentifier: 'ada', token: 'query' });
    viaHeader.close();
    viaQuery.close();
  });

  it.each(TRANSPORTS)('takes the token from a cookie over %s', async (name, transport) => {
    const client = await connect(required(), { transport, headers: { Cookie: `theme=dark; access_token=${ada}` } });
    expect(await client.invoke('WhoAmI')).toMatchObject({ userIdentifier: 'ada', transport: name, token: 'cookie' });
  });

  it.each(forgedTokens({ sub: 'mallory', name: 'Mallory' }))('refuses %s with 401 everywhere; nothing else is affected', async (_, forged) => {
    const server = app.app.get(SignalRServer);
    const bystander = await connect(required(), { accessTokenFactory: () => ada });
    const before = server.stats();

    for (const path of ['/hubs/identity-required', '/hubs/identity']) {
      // A token that does not verify refuses the request even where anonymous callers are welcome.
      const hub = app.url(path);
      expectUnauthorized(await request(`${hub}/negotiate?negotiateVersion=1`, { method: 'POST', headers: { Authorization: `Bearer ${forged}` } }));
      expectUnauthorized(await request(`${hub}/negotiate?negotiateVersion=1&access_token=${forged}`, { method: 'POST' }));
      await expect(buildClient(hub, { accessTokenFactory: () => forged }).start()).rejects.toThrow(new Error(UNAUTHORIZED));
      await expect(RawSocket.open(`${hub}?access_token=${forged}`)).rejects.toMatchObject({ status: 401, body: '' });
    }
    // A negotiated connection is not taken over with a forged token either.
    const { connectionToken } = await negotiate(required(), { headers: { Authorization: `Bearer ${ada}` } });
    await expect(RawSocket.open(`${required()}?id=${connectionToken}&access_token=${forged}`)).rejects.toMatchObject({ status: 401 });
    expectUnauthorized(await request(`${required()}?id=${connectionToken}`, { headers: { Authorization: `Bearer ${forged}` } }));

    expect(await bystander.invoke('WhoAmI')).toMatchObject({ userIdentifier: 'ada' });
    expect(server.stats()).toEqual({ registered: before.registered + 1, running: before.running });
  });

  it('authenticates every later poll, send and delete of an HTTP transport again: without a valid token each is 401 and changes nothing', async () => {
    const bearer = { Authorization: `Bearer ${ada}` };
    const { connectionToken } = await negotiate(required(), { headers: bearer });
    const url = `${required()}?id=${connectionToken}`;
    expect((await request(url, { headers: bearer })).status).toBe(200); // the first poll starts long polling
    const handshake = `{"protocol":"json","version":1}${RS}`;
    const invocation = `{"type":1,"invocationId":"1","target":"WhoAmI","arguments":[]}${RS}`;
    const refusals: Array<Record<string, string>> = [{}, { Authorization: `Bearer ${forgedTokens({ sub: 'ada' })[0][1]}` }];
    for (const refused of refusals) {
      expectUnauthorized(await request(url, { method: 'POST', headers: refused, body: handshake }));
      expectUnauthorized(await request(url, { headers: refused }));
      expectUnauthorized(await request(url, { method: 'DELETE', headers: refused }));
    }
    // Nothing the refused requests carried arrived: the handshake and the call go through now, in order.
    expect((await request(url, { method: 'POST', headers: bearer, body: handshake + invocation })).status).toBe(200);
    const replies: string[] = [];
    while (!replies.join('').includes('"type":3')) {
      const poll = await request(url, { headers: bearer });
      expect(poll.status).toBe(200);
      replies.push(poll.body.toString());
    }
    expect(replies.join('')).toMatch(new RegExp(`^\\{\\}${RS}\\{"type":3,"invocationId":"1","result":\\{"userIdentifier":"ada"`));
    expect((await request(url, { method: 'DELETE', headers: bearer })).status).toBe(202);
  });

  describe('user targets', () => {
    let alice: HubConnection[];
    let bob: HubConnection;
    let anonymous: HubConnection;
    const notes = new Map<HubConnection, unknown[][]>();
    let barriers = 0;

    beforeAll(async () => {
      const open = async (user: string | null, transport: HttpTransportType) => {
        const client = await connect(app.url('/hubs/identity'), { transport, accessTokenFactory: user === null ? undefined : () => token({ sub: user }) });
        notes.set(client, recordCalls(client, 'note'));
        return client;
      };
      alice = await Promise.all(TRANSPORTS.map(([, transport]) => open('alice', transport)));
      bob = await open('bob', HttpTransportType.WebSockets);
      anonymous = await open(null, HttpTransportType.LongPolling);
    });

    /** Runs `action`, then a broadcast barrier; returns the notes each client got before the barrier. */
    async function received(action: () => Promise<unknown>): Promise<Record<string, unknown[]>> {
      for (const list of notes.values()) list.length = 0;
      await action();
      const barrier = `barrier-${barriers++}`;
      const clients = [...alice, bob, anonymous];
      await bob.invoke('ToAll', barrier);
      await Promise.all(clients.map((client) => waitUntil(() => notes.get(client)!.some(([text]) => text === barrier))));
      const seen = (client: HubConnection) =>
        notes
          .get(client)!
          .map(([text]) => text)
          .filter((text) => text !== barrier);
      return { alice0: seen(alice[0]), alice1: seen(alice[1]), alice2: seen(alice[2]), bob: seen(bob), anonymous: seen(anonymous) };
    }

    it('`user` reaches every connection of the user, on every transport, and no one else', async () => {
      expect(await received(() => bob.invoke('ToUser', 'alice', 'hi alice'))).toEqual({
        alice0: ['hi alice'],
        alice1: ['hi alice'],
        alice2: ['hi alice'],
        bob: [],
        anonymous: [],
      });
    });

    it('`users` reaches every connection of each user once', async () => {
      expect(await received(() => anonymous.invoke('ToUsers', ['alice', 'bob', 'nobody'], 'hi both'))).toEqual({
        alice0: ['hi both'],
        alice1: ['hi both'],
        alice2: ['hi both'],
        bob: ['hi both'],
        anonymous: [],
      });
    });
  });
});

describe('module-wide requireAuthentication, and a hub that opts out', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({
      imports: [signalRWithJwt({ requireAuthentication: true })],
      providers: [IdentityHub, OpenIdentityHub],
    });
  });
  afterEach(() => stopAll());
  afterAll(() => app.close());

  it('refuses anonymous clients on hubs that do not opt out, and lets them in on the one that does', async () => {
    await expect(buildClient(app.url('/hubs/identity')).start()).rejects.toThrow(new Error(UNAUTHORIZED));
    const anonymous = await connect(app.url('/hubs/identity-open'));
    expect(await anonymous.invoke('WhoAmI')).toMatchObject({ userIdentifier: null, name: null, token: 'none' });
    const ada = await connect(app.url('/hubs/identity'), { accessTokenFactory: () => token({ sub: 'ada' }) });
    expect(await ada.invoke('WhoAmI')).toMatchObject({ userIdentifier: 'ada' });
  });

  it('still refuses a forged token on the hub that lets anonymous clients in', async () => {
    await expect(RawSocket.open(`${app.url('/hubs/identity-open')}?access_token=${token({ sub: 'x' }, { alg: 'none' })}`)).rejects.toMatchObject({
      status: 401,
    });
  });
});

describe('RS256 keys: the algorithm-confusion attack', () => {
  let app: TestApp;
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });

  beforeAll(async () => {
    app = await startApp({
      imports: [
        SignalRModule.forRootAsync({
          imports: [JwtModule.register({ publicKey, privateKey, signOptions: { algorithm: 'RS256' } })],
          inject: [JwtService],
          useFactory: (jwt: JwtService) => ({ authenticate: jwtAuthenticator(jwt, { algorithms: ['RS256'] }), requireAuthentication: true }),
        }),
      ],
      providers: [IdentityHub],
    });
  });
  afterEach(() => stopAll());
  afterAll(() => app.close());

  it('accepts a token signed with the private key', async () => {
    const signed = app.app.get(JwtService).sign({ sub: 'ada' }, { expiresIn: 60 });
    const client = await connect(app.url('/hubs/identity'), { accessTokenFactory: () => signed });
    expect(await client.invoke('WhoAmI')).toMatchObject({ userIdentifier: 'ada' });
  });

  it.each([
    ['HS256 keyed with the public key', token({ sub: 'mallory' }, { alg: 'HS256', key: publicKey })],
    ['RS256 with an HMAC of the public key', token({ sub: 'mallory' }, { alg: 'RS256', key: publicKey })],
    ['HS256 keyed with nothing', token({ sub: 'mallory' }, { alg: 'HS256', key: '' })],
  ])('refuses %s', async (_, forged) => {
    expectUnauthorized(
      await request(`${app.url('/hubs/identity')}/negotiate?negotiateVersion=1`, { method: 'POST', headers: { Authorization: `Bearer ${forged}` } }),
    );
    await expect(buildClient(app.url('/hubs/identity'), { accessTokenFactory: () => forged }).start()).rejects.toThrow(new Error(UNAUTHORIZED));
  });
});
