import { SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { MatrixHub, MatrixJournal } from '../fixtures/matrix-hub.js';
import { startApp, TestApp } from '../support/app.js';
import { aspnetReleases } from '../support/clients/aspnet-signalr.js';
import { microsoftReleases } from '../support/clients/microsoft-signalr.js';
import type { ClientRelease, MatrixClient, MatrixProtocol, MatrixTransport } from '../support/clients/types.js';
import { watchUnusedSockets } from '../support/clients/unused-sockets.js';
import { waitUntil } from '../support/wait.js';

/**
 * Every installed official client release × transport × hub protocol against one app: connect,
 * invoke, send, a server→client call, a hub error and a clean stop. MessagePack is binary, which
 * Server-Sent Events cannot carry, so clients never pair the two and neither does the matrix.
 */
const RELEASES: ClientRelease[] = [...microsoftReleases(), ...aspnetReleases()];

interface Cell {
  release: ClientRelease;
  transport: MatrixTransport;
  protocol: MatrixProtocol;
}

const CELLS: Cell[] = RELEASES.flatMap((release) =>
  release.transports.flatMap((transport) =>
    release.protocols
      .filter((protocol) => !(protocol === 'messagepack' && transport === 'ServerSentEvents'))
      .map((protocol) => ({ release, transport, protocol })),
  ),
);

const HUB_ERROR = (method: string, message: string) => `An unexpected error occurred invoking '${method}' on the server. HubException: ${message}`;

describe('official client matrix', () => {
  let app: TestApp;
  let journal: MatrixJournal;
  let sockets: ReturnType<typeof watchUnusedSockets>;
  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [MatrixHub, MatrixJournal] });
    journal = app.app.get(MatrixJournal);
    sockets = watchUnusedSockets(app.app.getHttpServer());
  });
  afterAll(async () => {
    const server = app.app.get(SignalRServer);
    await waitUntil(() => server.stats().registered === 0 && server.stats().running === 0).catch(() => undefined);
    expect(server.stats()).toEqual({ registered: 0, running: 0 }); // every cell's connection is gone
    sockets.destroyUnused();
    await app.close();
  });

  it('covers every release, transport and protocol it should', () => {
    // Each MessagePack package runs on the client release of its own major (package.json overrides),
    // except 11.x: no MessagePack 11 exists, so it runs with the newest (10.x) on the client 11.
    expect(RELEASES.map((release) => `${release.label} + ${release.msgpackLabel}`)).toEqual([
      expect.stringMatching(/^@microsoft\/signalr (11\.\S+) \+ @microsoft\/signalr-protocol-msgpack 10\.\S+ on \1$/),
      expect.stringMatching(/^@microsoft\/signalr (10\.\S+) \+ @microsoft\/signalr-protocol-msgpack 10\.\S+ on \1$/),
      expect.stringMatching(/^@microsoft\/signalr (8\.\S+) \+ @microsoft\/signalr-protocol-msgpack 8\.\S+ on \1$/),
      expect.stringMatching(/^@microsoft\/signalr (6\.\S+) \+ @microsoft\/signalr-protocol-msgpack 6\.\S+ on \1$/),
      expect.stringMatching(/^@microsoft\/signalr (3\.1\.\S+) \+ @microsoft\/signalr-protocol-msgpack 3\.1\.\S+ on \1$/),
      expect.stringMatching(/^@aspnet\/signalr 1\.1\.\S+ \+ @aspnet\/signalr-protocol-msgpack 1\.1\.\S+$/),
    ]);
    expect(CELLS).toHaveLength(RELEASES.length * 5); // WS + SSE + LP with JSON, WS + LP with MessagePack
  });

  const cellName = ({ release, transport, protocol }: Cell) =>
    `${release.label} over ${transport} with ${protocol === 'json' ? 'JSON' : `MessagePack (${release.msgpackLabel})`}`;

  describe.each(CELLS.map((cell) => [cellName(cell), cell] as const))('%s', (_name, { release, transport, protocol }) => {
    let client: MatrixClient;
    let started: Promise<string>;

    /** Starts once per cell; every later test awaits it, so a failed start is reported with the client's log in each. */
    beforeAll(() => {
      client = release.build(app.url('/hubs/matrix'), transport, protocol);
      started = client.connection.start().then(
        async () => (await client.connection.invoke<{ connectionId: string }>('WhoAmI')).connectionId,
        (error: Error) => {
          throw new Error(`start failed: ${error.message}\nclient log:\n  ${client.log.join('\n  ')}`);
        },
      );
      started.catch(() => undefined); // reported by the tests below
    });
    afterAll(() => client.connection.stop().catch(() => undefined));

    const connection = () => started.then(() => client.connection);

    it(`starts and the server sees ${transport}`, async () => {
      const connectionId = await started;
      await expect((await connection()).invoke('WhoAmI')).resolves.toEqual({ connectionId, transport });
    });

    it('invokes a method and gets its result', async () => {
      await expect((await connection()).invoke('Add', 2, 40)).resolves.toEqual({ sum: 42, operands: [2, 40], label: '2+40' });
    });

    it('sends without a result, in order, seen by a later invocation', async () => {
      const hub = await connection();
      await hub.send('Record', 'first');
      await hub.send('Record', { second: [2] });
      await expect(hub.invoke('Recorded')).resolves.toEqual(['first', { second: [2] }]);
    });

    it('receives a call from the server', async () => {
      const hub = await connection();
      const received = new Promise<unknown[]>((resolve) => {
        const handler = (...args: unknown[]) => {
          hub.off('pong', handler);
          resolve(args);
        };
        hub.on('pong', handler);
      });
      await expect(hub.invoke('CallMe', 'ping')).resolves.toBeNull();
      await expect(received).resolves.toEqual(['ping', { nested: [1, 2, 3], flag: true }]);
    });

    it('gets a hub error with its exact text', async () => {
      await expect((await connection()).invoke('Fail', 'no')).rejects.toThrow(new Error(HUB_ERROR('Fail', 'Matrix refused: no')));
    });

    it('stops cleanly: no error on either side', async () => {
      const connectionId = await started;
      const serverSide = journal.disconnectOf(connectionId);
      await client.connection.stop();
      await expect(client.closed).resolves.toBeUndefined();
      await expect(serverSide).resolves.toBeUndefined();
      expect(client.log).toEqual([]);
    });
  });
});
