import { PassportModule } from '@nestjs/passport';
import { passportAuthenticator, SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { IdentityHub } from '../fixtures/auth-identity.hubs.js';
import { JwtStrategy } from '../fixtures/auth-jwt.strategy.js';
import { forgedTokens, token } from '../fixtures/auth-tokens.js';
import { startApp, TestApp } from '../support/app.js';
import { buildClient, connect, stopAll, TRANSPORTS, UNAUTHORIZED } from '../support/client.js';
import { request } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';

/**
 * A @nestjs/passport strategy (passport-jwt) as the hub's authentication, with a user-id provider
 * that targets users by e-mail instead of `sub`.
 */
describe('authentication through a passport strategy', () => {
  let app: TestApp;
  const hub = () => app.url('/hubs/identity');
  const claims = { sub: 'u-1', name: 'Ada', email: 'ada@example.com' };

  beforeAll(async () => {
    app = await startApp({
      imports: [
        PassportModule,
        SignalRModule.forRoot({
          authenticate: passportAuthenticator('jwt'),
          userIdProvider: (user) => (user as { email: string }).email,
        }),
      ],
      providers: [JwtStrategy, IdentityHub],
    });
  });
  afterEach(() => stopAll());
  afterAll(() => app.close());

  it.each(TRANSPORTS)("gives the connection the strategy's user over %s, identified by the user-id provider", async (name, transport) => {
    const client = await connect(hub(), { transport, accessTokenFactory: () => token(claims) });
    expect(await client.invoke('WhoAmI')).toEqual({
      userIdentifier: 'ada@example.com',
      name: 'Ada',
      via: 'passport', // made by the strategy's validate(), not the raw payload
      exp: null,
      transport: name,
      token: name === 'ServerSentEvents' ? 'query' : 'header',
    });
  });

  it('targets the user by the id the provider computes', async () => {
    const ada = await connect(hub(), { accessTokenFactory: () => token(claims) });
    const other = await connect(hub(), { accessTokenFactory: () => token({ sub: 'u-2', name: 'Bo', email: 'bo@example.com' }) });
    const received = new Promise((resolve) => ada.on('note', resolve));
    await other.invoke('ToUser', 'ada@example.com', 'by e-mail');
    expect(await received).toBe('by e-mail');
  });

  it('refuses a client without a token: the strategy fails, 401 with an empty body', async () => {
    await expect(buildClient(hub()).start()).rejects.toThrow(new Error(UNAUTHORIZED));
    const response = await request(`${hub()}/negotiate?negotiateVersion=1`, { method: 'POST' });
    expect({ status: response.status, body: response.body.toString() }).toEqual({ status: 401, body: '' });
  });

  it('refuses a user that validate() rejects', async () => {
    await expect(buildClient(hub(), { accessTokenFactory: () => token({ ...claims, banned: true }) }).start()).rejects.toThrow(new Error(UNAUTHORIZED));
  });

  it('refuses the WebSocket upgrade without a token, or with one in the query that does not verify', async () => {
    await expect(RawSocket.open(hub())).rejects.toMatchObject({ status: 401, body: '' });
    await expect(RawSocket.open(`${hub()}?access_token=${token(claims, { alg: 'none' })}`)).rejects.toMatchObject({ status: 401, body: '' });
    const socket = await RawSocket.open(`${hub()}?access_token=${token(claims)}`);
    socket.close();
  });

  it.each(forgedTokens(claims))('refuses %s; nothing else is affected', async (_, forged) => {
    const bystander = await connect(hub(), { accessTokenFactory: () => token(claims) });
    const server = app.app.get(SignalRServer);
    const before = server.stats();
    const response = await request(`${hub()}/negotiate?negotiateVersion=1`, { method: 'POST', headers: { Authorization: `Bearer ${forged}` } });
    expect({ status: response.status, body: response.body.toString() }).toEqual({ status: 401, body: '' });
    await expect(buildClient(hub(), { accessTokenFactory: () => forged }).start()).rejects.toThrow(new Error(UNAUTHORIZED));
    expect(await bystander.invoke('WhoAmI')).toMatchObject({ userIdentifier: 'ada@example.com' });
    expect(server.stats()).toEqual(before);
  });

  it('refuses every request when the strategy is not registered', async () => {
    const authenticate = passportAuthenticator('no-such-strategy');
    const refused = authenticate({
      method: 'POST',
      url: '/hubs/identity/negotiate',
      path: '/hubs/identity/negotiate',
      query: new URLSearchParams(),
      headers: { authorization: `Bearer ${token(claims)}` },
      cookies: {},
      remoteAddress: '127.0.0.1',
    });
    await expect(refused).rejects.toThrow('Unknown authentication strategy "no-such-strategy"');
  });
});
