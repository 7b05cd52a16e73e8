import { DefaultHttpClient, HttpRequest, HttpResponse, NullLogger } from '@microsoft/signalr';
import { HubRequest, SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { ProtocolIdentityHub, WebSocketsOnlyHub } from '../fixtures/protocol-identity.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { buildClient, connect, stopAll } from '../support/client.js';
import { RawSocket } from '../support/raw-socket.js';

const HUB = '/hubs/identity';
const URL_SAFE_ID = /^[A-Za-z0-9_-]{22}$/;
const ALL_TRANSPORTS =
  '[{"transport":"WebSockets","transferFormats":["Text","Binary"]},{"transport":"ServerSentEvents","transferFormats":["Text"]},{"transport":"LongPolling","transferFormats":["Text","Binary"]}]';

interface Reply {
  status: number;
  type: string | null;
  body: string;
}

/** The official client's HTTP client, keeping every response it got (to compare with what the client did). */
class RecordingHttpClient extends DefaultHttpClient {
  readonly responses: Array<{ url: string; status: number; content: string }> = [];
  constructor() {
    super(NullLogger.instance);
  }
  override async send(request: HttpRequest): Promise<HttpResponse> {
    const response = await super.send(request);
    this.responses.push({ url: request.url!, status: response.statusCode, content: response.content as string });
    return response;
  }
}

describe('negotiate and transport routing', () => {
  let app: TestApp;
  /** Every request `authenticate` saw: negotiates and upgrades. `?deny=1` is refused. */
  const seen: HubRequest[] = [];
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    app = await startApp({
      imports: [
        SignalRModule.forRoot({
          authenticate: (request) => {
            seen.push(request);
            if (request.query.get('deny') === '1') throw new Error('denied');
            return undefined;
          },
        }),
      ],
      providers: [ProtocolIdentityHub, WebSocketsOnlyHub],
    });
  });
  afterEach(async () => {
    await stopAll();
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(async () => {
    await app.close();
  });

  async function request(path: string, init: RequestInit = {}): Promise<Reply> {
    const response = await fetch(app.url(path), init);
    return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
  }

  async function negotiate(query = '?negotiateVersion=1', path = HUB): Promise<any> {
    const reply = await request(`${path}/negotiate${query}`, { method: 'POST' });
    expect(reply.status).toBe(200);
    return JSON.parse(reply.body);
  }

  async function open(query: string): Promise<RawSocket> {
    const socket = await RawSocket.open(app.url(`${HUB}${query}`));
    sockets.push(socket);
    return socket;
  }

  /** The upgrade's refusal: `{status, body}`. */
  function refused(query: string, path = HUB): Promise<{ status: number; body: string }> {
    return RawSocket.open(app.url(`${path}${query}`)).then(
      (socket) => {
        sockets.push(socket);
        throw new Error('upgrade was accepted');
      },
      (error) => ({ status: error.status, body: error.body }),
    );
  }

  /** Handshakes on a raw socket and asks the hub for the connection id it sees. */
  async function idSeenOver(socket: RawSocket): Promise<string> {
    socket.sendText('{"protocol":"json","version":1}\u001e');
    expect((await socket.nextFrame()).data.toString()).toBe('{}\u001e');
    socket.send({ type: 1, invocationId: '1', target: 'ConnectionId', arguments: [] });
    const completion = await socket.nextMessage();
    expect(completion).toMatchObject({ type: 3, invocationId: '1' });
    return completion.result;
  }

  describe('POST /negotiate', () => {
    it('answers version 1 with a public id, a different secret token and every transport, in the order .NET lists them', async () => {
      const reply = await request(`${HUB}/negotiate?negotiateVersion=1`, { method: 'POST' });
      expect(reply.status).toBe(200);
      expect(reply.type).toBe('application/json');
      const body = JSON.parse(reply.body);
      expect(Object.keys(body)).toEqual(['negotiateVersion', 'connectionId', 'connectionToken', 'availableTransports']);
      expect(body.negotiateVersion).toBe(1);
      expect(body.connectionId).toMatch(URL_SAFE_ID);
      expect(body.connectionToken).toMatch(URL_SAFE_ID);
      expect(body.connectionToken).not.toBe(body.connectionId);
      expect(JSON.stringify(body.availableTransports)).toBe(ALL_TRANSPORTS);
      const second = await negotiate();
      expect(second.connectionId).not.toBe(body.connectionId);
    });

    it('sets Content-Length to the body length', async () => {
      const response = await fetch(app.url(`${HUB}/negotiate?negotiateVersion=1`), { method: 'POST' });
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(response.headers.get('content-length')).toBe(String(bytes.length));
    });

    it('answers version 0 without a negotiateVersion key: no connectionToken', async () => {
      const body = await negotiate('');
      expect(Object.keys(body)).toEqual(['negotiateVersion', 'connectionId', 'availableTransports']);
      expect(body.negotiateVersion).toBe(0);
      expect(body.connectionId).toMatch(URL_SAFE_ID);
      expect(JSON.stringify(body.availableTransports)).toBe(ALL_TRANSPORTS);
    });

    it('answers its maximum, 1, to a higher version', async () => {
      const body = await negotiate('?negotiateVersion=7');
      expect(body.negotiateVersion).toBe(1);
      expect(body.connectionToken).toMatch(URL_SAFE_ID);
    });

    it('matches the negotiateVersion key case-insensitively', async () => {
      expect((await negotiate('?NegotiateVersion=1')).negotiateVersion).toBe(1);
      expect((await negotiate('?NEGOTIATEVERSION=1')).negotiateVersion).toBe(1);
    });

    it.each(['abc', '1.5', ''])('answers 200 with an error for the non-integer version %j', async (version) => {
      const reply = await request(`${HUB}/negotiate?negotiateVersion=${version}`, { method: 'POST' });
      expect(reply).toEqual({
        status: 200,
        type: 'application/json',
        body: '{"error":"The client requested a non-integer protocol version."}',
      });
    });

    it('answers 200 with an error for a negative version', async () => {
      const reply = await request(`${HUB}/negotiate?negotiateVersion=-1`, { method: 'POST' });
      expect(reply.body).toBe(`{"error":"The client requested version '-1', but the server does not support this version."}`);
    });

    it.each(['GET', 'PUT', 'DELETE'])('refuses %s with 405', async (method) => {
      const reply = await request(`${HUB}/negotiate?negotiateVersion=1`, { method });
      expect(reply.status).toBe(405);
    });

    it('accepts a body and a JSON content type (as Python signalrcore sends)', async () => {
      const reply = await request(`${HUB}/negotiate?negotiateVersion=1`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '',
      });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body).connectionId).toMatch(URL_SAFE_ID);
    });
  });

  describe('the official client', () => {
    it("reports the negotiated connectionId, which is the hub's context.connectionId, and connects with the token", async () => {
      const http = new RecordingHttpClient();
      const client = await connect(app.url(HUB), { httpClient: http });
      expect(http.responses.map((r) => [r.url, r.status])).toEqual([[app.url(`${HUB}/negotiate?negotiateVersion=1`), 200]]);
      const negotiated = JSON.parse(http.responses[0].content);
      expect(client.connectionId).toBe(negotiated.connectionId);
      await expect(client.invoke('ConnectionId')).resolves.toBe(negotiated.connectionId);
      await expect(client.invoke('Query', 'id')).resolves.toBe(negotiated.connectionToken);
    });

    it("keeps the hub URL's own query string on negotiate and on the WebSocket", async () => {
      const http = new RecordingHttpClient();
      seen.length = 0;
      const client = await connect(app.url(`${HUB}?a=b`), { httpClient: http });
      expect(http.responses[0].url).toBe(app.url(`${HUB}/negotiate?a=b&negotiateVersion=1`));
      const negotiateRequest = seen.find((r) => r.path === `${HUB}/negotiate`)!;
      expect(negotiateRequest.method).toBe('POST');
      expect([negotiateRequest.query.get('a'), negotiateRequest.query.get('negotiateVersion')]).toEqual(['b', '1']);
      await expect(client.invoke('Query', 'a')).resolves.toBe('b');
      await expect(client.invoke('Query', 'id')).resolves.toBe(JSON.parse(http.responses[0].content).connectionToken);
    });

    it('connects with skipNegotiation: the client has no id, the server still makes one', async () => {
      const client = await connect(app.url(HUB), { skipNegotiation: true });
      expect(client.connectionId).toBeNull();
      const id = await client.invoke('ConnectionId');
      expect(id).toMatch(URL_SAFE_ID);
      await expect(client.invoke('Query', 'id')).resolves.toBeNull();
    });

    it('serves the hub path case-insensitively and with a trailing slash', async () => {
      const upper = await connect(app.url('/HUBS/Identity'));
      await expect(upper.invoke('Echo', 'upper')).resolves.toBe('upper');
      const slash = await connect(app.url(`${HUB}/`));
      await expect(slash.invoke('Echo', 'slash')).resolves.toBe('slash');
      expect((await negotiate('?negotiateVersion=1', '/Hubs/IDENTITY')).negotiateVersion).toBe(1);
      const reply = await request(`${HUB}/negotiate/?negotiateVersion=1`, { method: 'POST' });
      expect(reply.status).toBe(200);
    });

    it("rejects start() with the negotiate 401's exact text when authenticate throws", async () => {
      const client = buildClient(app.url(`${HUB}?deny=1`));
      await expect(client.start()).rejects.toThrow(new Error("Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'"));
    });
  });

  describe('WebSocket upgrade', () => {
    it('opens a version 1 connection by its token, not by its public id', async () => {
      const { connectionId, connectionToken } = await negotiate();
      expect(await refused(`?id=${connectionId}`)).toEqual({ status: 404, body: 'No Connection with that ID' });
      expect(await idSeenOver(await open(`?id=${connectionToken}`))).toBe(connectionId);
    });

    it('opens a version 0 connection by its id', async () => {
      const { connectionId } = await negotiate('');
      expect(await idSeenOver(await open(`?id=${connectionId}`))).toBe(connectionId);
    });

    it('refuses an unknown id with 404 No Connection with that ID', async () => {
      expect(await refused('?id=AAAAAAAAAAAAAAAAAAAAAA')).toEqual({ status: 404, body: 'No Connection with that ID' });
    });

    it("refuses a token negotiated at another hub with 404, and the token still opens its own hub's connection", async () => {
      const other = '/hubs/websockets-only';
      const { connectionToken } = await negotiate('?negotiateVersion=1', other);
      expect(await refused(`?id=${connectionToken}`)).toEqual({ status: 404, body: 'No Connection with that ID' });
      expect(await request(`${HUB}?id=${connectionToken}`)).toEqual({ status: 404, type: 'text/plain', body: 'No Connection with that ID' });
      const socket = await RawSocket.open(app.url(`${other}?id=${connectionToken}`));
      sockets.push(socket);
      expect(await idSeenOver(socket)).toMatch(URL_SAFE_ID);
    });

    it('refuses a second WebSocket for a connection in use with 409 and an empty body', async () => {
      const { connectionToken } = await negotiate();
      const first = await open(`?id=${connectionToken}`);
      expect(await refused(`?id=${connectionToken}`)).toEqual({ status: 409, body: '' });
      // The first socket is unaffected.
      expect(await idSeenOver(first)).toMatch(URL_SAFE_ID);
    });

    it('refuses the upgrade with 401 when authenticate throws', async () => {
      expect(await refused('?deny=1')).toEqual({ status: 401, body: '' });
      const { connectionToken } = await negotiate();
      expect(await refused(`?id=${connectionToken}&deny=1`)).toEqual({ status: 401, body: '' });
      // The refused upgrade did not use up the negotiated connection.
      expect(await idSeenOver(await open(`?id=${connectionToken}`))).toMatch(URL_SAFE_ID);
    });
  });

  describe('other requests on the hub path (text/plain)', () => {
    it('refuses a GET without id with 400 Connection ID required', async () => {
      expect(await request(HUB)).toEqual({ status: 400, type: 'text/plain', body: 'Connection ID required' });
      expect(await request(`${HUB}?id=`)).toEqual({ status: 400, type: 'text/plain', body: 'Connection ID required' });
    });

    it('refuses a GET with an unknown id with 404 No Connection with that ID', async () => {
      expect(await request(`${HUB}?id=nope`)).toEqual({ status: 404, type: 'text/plain', body: 'No Connection with that ID' });
    });

    it('refuses Server-Sent Events and long polling on a hub that offers WebSockets only', async () => {
      const hub = '/hubs/websockets-only';
      const body = (await (await fetch(app.url(`${hub}/negotiate?negotiateVersion=1`), { method: 'POST' })).json()) as {
        connectionToken: string;
        availableTransports: unknown;
      };
      expect(JSON.stringify(body.availableTransports)).toBe('[{"transport":"WebSockets","transferFormats":["Text","Binary"]}]');
      expect(await request(`${hub}?id=${body.connectionToken}`, { headers: { Accept: 'text/event-stream' } })).toEqual({
        status: 404,
        type: 'text/plain',
        body: 'ServerSentEvents transport not supported by this end point type',
      });
      expect(await request(`${hub}?id=${body.connectionToken}`)).toEqual({
        status: 404,
        type: 'text/plain',
        body: 'LongPolling transport not supported by this end point type',
      });
    });

    it("refuses a POST with a WebSocket connection's id with 405", async () => {
      const { connectionToken } = await negotiate();
      await idSeenOver(await open(`?id=${connectionToken}`));
      expect(await request(`${HUB}?id=${connectionToken}`, { method: 'POST', body: '{"type":6}\u001e' })).toEqual({
        status: 405,
        type: 'text/plain',
        body: 'POST requests are not allowed for WebSocket connections.',
      });
    });

    it('refuses a DELETE of a WebSocket connection with 400, and a DELETE without id with 400', async () => {
      const { connectionToken } = await negotiate();
      const socket = await open(`?id=${connectionToken}`);
      await idSeenOver(socket);
      expect(await request(`${HUB}?id=${connectionToken}`, { method: 'DELETE' })).toEqual({
        status: 400,
        type: 'text/plain',
        body: 'Cannot terminate this connection using the DELETE endpoint.',
      });
      expect(await request(HUB, { method: 'DELETE' })).toEqual({ status: 400, type: 'text/plain', body: 'Connection ID required' });
      // The connection is still alive.
      socket.send({ type: 1, invocationId: '2', target: 'Echo', arguments: ['alive'] });
      expect(await socket.nextMessage()).toEqual({ type: 3, invocationId: '2', result: 'alive' });
    });

    it('refuses PUT with 405', async () => {
      const { connectionToken } = await negotiate();
      expect((await request(`${HUB}?id=${connectionToken}`, { method: 'PUT' })).status).toBe(405);
    });
  });
});

describe('negotiate accounting', () => {
  let app: TestApp;
  let server: SignalRServer;

  beforeAll(async () => {
    app = await startApp({
      imports: [
        SignalRModule.forRoot({
          authenticate: (request) => {
            if (request.query.get('deny') === '1') throw new Error('denied');
          },
        }),
      ],
      providers: [ProtocolIdentityHub],
    });
    server = app.app.get(SignalRServer);
  });
  afterAll(async () => {
    await app.close();
  });

  function post(query: string): Promise<Response> {
    return fetch(app.url(`${HUB}/negotiate${query}`), { method: 'POST' });
  }

  it('registers one waiting connection per successful negotiate, none for a refused one', async () => {
    expect(server.stats()).toEqual({ registered: 0, running: 0 });
    expect((await post('?negotiateVersion=1')).status).toBe(200);
    expect((await post('')).status).toBe(200);
    expect(server.stats()).toEqual({ registered: 2, running: 0 });

    const unauthorized = await post('?negotiateVersion=1&deny=1');
    expect([unauthorized.status, await unauthorized.text()]).toEqual([401, '']);
    expect((await post('?negotiateVersion=x')).status).toBe(200);
    expect((await fetch(app.url(`${HUB}/negotiate`))).status).toBe(405);
    expect(server.stats()).toEqual({ registered: 2, running: 0 });
  });
});
