import { HttpTransportType, HubConnection, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { SignalRServer } from '../../src/signalr.server.js';
import { IdentityHub, LastingIdentityHub } from '../fixtures/auth-identity.hubs.js';
import { signalRWithJwt, token } from '../fixtures/auth-tokens.js';
import { startApp, TestApp } from '../support/app.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const HANDSHAKE = `{"protocol":"json","version":1}${RS}`;

/**
 * closeOnAuthenticationExpiration: a connection whose token's `exp` passes is closed with a Close
 * that allows reconnecting, and the official client's automatic reconnect comes back with a fresh
 * token. The short handshake timeout makes the shared sweep tick 250 ms, so expiries are seen soon.
 */
describe('closing connections when their token expires', () => {
  let app: TestApp;
  const clients: HubConnection[] = [];

  beforeAll(async () => {
    app = await startApp({
      imports: [signalRWithJwt({ requireAuthentication: true, closeOnAuthenticationExpiration: true, handshakeTimeout: 1000 })],
      providers: [IdentityHub, LastingIdentityHub],
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
    const server = app.app.get(SignalRServer);
    await waitUntil(() => server.stats().running === 0);
  });
  afterAll(() => app.close());

  /** A raw WebSocket to `path` whose user is `sub`, past the handshake. */
  async function open(path: string, sub: string, expiresIn: number | null): Promise<RawSocket> {
    const socket = await RawSocket.open(`${app.url(path)}?access_token=${token({ sub }, { expiresIn })}`);
    socket.sendText(HANDSHAKE);
    expect((await socket.nextFrame()).data.toString()).toBe(`{}${RS}`);
    return socket;
  }

  async function whoAmI(socket: RawSocket, id: string): Promise<unknown> {
    socket.send({ type: 1, invocationId: id, target: 'WhoAmI', arguments: [] });
    return (await socket.nextMessage()).result;
  }

  it('closes only the connection whose token expired, with a Close that allows reconnecting, then the socket with 1000', async () => {
    // The same expiry, reached first, on a hub that turned the option off: swept on the same ticks, never closed.
    const optedOut = await open('/hubs/identity-lasting', 'dee', 0.6);
    const lasting = await open('/hubs/identity', 'bob', 3600);
    const noExpiry = await open('/hubs/identity', 'cy', null);
    const expiring = await open('/hubs/identity', 'ada', 0.6);

    expect(await expiring.nextMessage()).toEqual({ type: 7, allowReconnect: true });
    expect(expiring.frames.at(-1)!.data.toString()).toBe(`{"type":7,"allowReconnect":true}${RS}`);
    expect(await expiring.closed()).toBe(1000);

    expect(await whoAmI(lasting, '1')).toMatchObject({ userIdentifier: 'bob' });
    expect(await whoAmI(noExpiry, '1')).toMatchObject({ userIdentifier: 'cy', exp: null });
    expect(await whoAmI(optedOut, '1')).toMatchObject({ userIdentifier: 'dee' });
    for (const socket of [lasting, noExpiry, optedOut]) socket.close();
  });

  it.each([
    ['WebSockets', HttpTransportType.WebSockets],
    ['ServerSentEvents', HttpTransportType.ServerSentEvents],
    ['LongPolling', HttpTransportType.LongPolling],
  ])('the official client with automatic reconnect comes back with a fresh token over %s', async (name, transport) => {
    let reconnecting = false;
    const issued: number[] = [];
    const client = new HubConnectionBuilder()
      .withUrl(app.url('/hubs/identity'), {
        transport,
        // Short-lived tokens until the server closes the connection, then long-lived ones.
        accessTokenFactory: () => {
          const expiresIn = reconnecting ? 3600 : 0.8;
          issued.push(expiresIn);
          return token({ sub: 'ada' }, { expiresIn });
        },
      })
      .withAutomaticReconnect()
      .configureLogging(LogLevel.None)
      .build();
    clients.push(client);
    const closedWith = new Promise<Error | undefined>((resolve) =>
      client.onreconnecting((error) => {
        reconnecting = true;
        resolve(error);
      }),
    );
    const reconnected = new Promise<string | undefined>((resolve) => client.onreconnected(resolve));

    await client.start();
    const first = client.connectionId;
    const before = await client.invoke<{ exp: number; transport: string }>('WhoAmI');
    expect(before).toMatchObject({ userIdentifier: 'ada', transport: name });
    expect(before.exp * 1000 - Date.now()).toBeLessThan(1000);

    expect(await closedWith).toBeUndefined(); // a Close without an error
    const second = await reconnected;
    expect(second).toEqual(expect.any(String));
    expect(second).not.toBe(first);
    const after = await client.invoke<{ exp: number }>('WhoAmI');
    expect(after).toMatchObject({ userIdentifier: 'ada', transport: name });
    expect(after.exp * 1000 - Date.now()).toBeGreaterThan(3_000_000);
    expect(issued.filter((expiresIn) => expiresIn === 3600).length).toBeGreaterThanOrEqual(1);
  });
});
