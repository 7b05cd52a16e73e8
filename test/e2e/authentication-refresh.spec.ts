import type { IncomingMessage } from 'node:http';
import { HttpTransportType, HubConnection, HubConnectionBuilder, HubConnectionState, LogLevel } from '@microsoft/signalr';
import { SignalRServer } from '../../src/signalr.server.js';
import { IdentityHub, LastingIdentityHub } from '../fixtures/auth-identity.hubs.js';
import { signalRWithJwt, token } from '../fixtures/auth-tokens.js';
import { startApp, TestApp } from '../support/app.js';
import { waitUntil } from '../support/wait.js';

/**
 * @microsoft/signalr 11 can refresh a connection's authentication without reconnecting
 * (`withAuthenticationRefresh()`, `refreshAuthentication()`): it POSTs `{hub}/refresh` with the
 * connection token in `X-SignalR-Connection-Token` and a fresh `Authorization: Bearer`. ASP.NET Core
 * 11 serves that endpoint only with `EnableAuthenticationRefresh` (off by default) and otherwise
 * answers 404. This server does not implement it (README, Known differences): it answers like
 * ASP.NET Core with the option off. These tests pin what an app using the 11 client then sees:
 * negotiate reports no token lifetime, so the client never refreshes by itself; an explicit refresh
 * rejects with the client's text for a 404 and reports it to `onAuthenticationRefreshFailed`; the
 * connection and its user stay as they were.
 */
describe('authentication refresh of @microsoft/signalr 11 (not implemented: answered as ASP.NET Core with the option off)', () => {
  let app: TestApp;
  /** Every request and upgrade the server received: method, path and the relevant headers and `id`. */
  let seen: Array<{ method: string; path: string; id: string | null; connectionTokenHeader: string | undefined; bearer: boolean }>;
  const clients: HubConnection[] = [];

  beforeAll(async () => {
    app = await startApp({
      imports: [signalRWithJwt({ requireAuthentication: true, closeOnAuthenticationExpiration: true })],
      providers: [IdentityHub, LastingIdentityHub],
    });
    const record = (req: IncomingMessage) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      seen.push({
        method: req.method ?? '',
        path: url.pathname,
        id: url.searchParams.get('id'),
        connectionTokenHeader: req.headers['x-signalr-connection-token'] as string | undefined,
        bearer: /^Bearer ./.test(req.headers.authorization ?? ''),
      });
    };
    app.app.getHttpServer().on('request', record);
    app.app.getHttpServer().on('upgrade', record);
  });
  beforeEach(() => {
    seen = [];
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
    const server = app.app.get(SignalRServer);
    await waitUntil(() => server.stats().running === 0);
  });
  afterAll(() => app.close());

  it.each([
    ['WebSockets', HttpTransportType.WebSockets],
    ['ServerSentEvents', HttpTransportType.ServerSentEvents],
    ['LongPolling', HttpTransportType.LongPolling],
  ])('over %s: refreshAuthentication() rejects on the 404, the connection and its user stay', async (name, transport) => {
    const client = new HubConnectionBuilder()
      .withUrl(app.url('/hubs/identity'), { transport, accessTokenFactory: () => token({ sub: 'ada' }, { expiresIn: 3600 }) })
      .withAuthenticationRefresh({ refreshBeforeExpirationInMilliseconds: 0 })
      .configureLogging(LogLevel.None)
      .build();
    clients.push(client);
    const failures: string[] = [];
    let refreshed = 0;
    client.onAuthenticationRefreshFailed(({ error }) => failures.push(error.message));
    client.onAuthenticationRefreshed(() => refreshed++);

    await client.start();
    const before = await client.invoke<{ userIdentifier: string; exp: number; transport: string }>('WhoAmI');
    expect(before).toMatchObject({ userIdentifier: 'ada', transport: name });

    await expect(client.refreshAuthentication()).rejects.toThrow(new Error("Unexpected status code returned from authentication refresh '404'"));
    expect(failures).toEqual(["Unexpected status code returned from authentication refresh '404'"]);
    expect(refreshed).toBe(0);

    // What the 11 client sent: one POST to {hub}/refresh, the connection token in a header, a bearer token.
    const transportId = seen.find((request) => request.path === '/hubs/identity' && request.id !== null)!.id;
    expect(seen.filter((request) => request.path.endsWith('/refresh'))).toEqual([
      { method: 'POST', path: '/hubs/identity/refresh', id: null, connectionTokenHeader: transportId, bearer: true },
    ]);

    expect(client.state).toBe(HubConnectionState.Connected);
    await expect(client.invoke('WhoAmI')).resolves.toEqual(before); // same user, same expiry
  });

  it('never refreshes by itself: negotiate reports no token lifetime, so no refresh is scheduled', async () => {
    const negotiated = await fetch(`${app.url('/hubs/identity/negotiate')}?negotiateVersion=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token({ sub: 'ada' }, { expiresIn: 3600 })}` },
    });
    expect(negotiated.status).toBe(200);
    expect(Object.keys((await negotiated.json()) as object).sort()).toEqual(['availableTransports', 'connectionId', 'connectionToken', 'negotiateVersion']);
  });
});
