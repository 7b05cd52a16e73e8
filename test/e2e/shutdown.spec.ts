import { HttpTransportType, HubConnection, HubConnectionBuilder, IHubProtocol, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { SignalRModule, SignalRModuleOptions } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { ShutdownHub, ShutdownJournal } from '../fixtures/shutdown-drain.hub.js';
import { ShutdownProbeController } from '../fixtures/shutdown-probe.controller.js';
import { spawn } from 'child_process';
import path from 'path';
import { PLATFORM, startApp, TestApp } from '../support/app.js';
import { negotiate, request } from '../support/http.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const HUB = '/hubs/shutdown';
const SHUTTING_DOWN = 'The server is shutting down.';
const TRANSPORT_LIST = [HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling];
const CANCELED = 'Invocation canceled due to the underlying connection being closed.';

/** The official clients of this file: they reconnect on their own, so each test stops them. */
const clients = new Set<HubConnection>();

interface Reconnecting {
  client: HubConnection;
  /** Resolves with the error the client enters reconnecting with (undefined after a clean Close). */
  reconnecting: Promise<Error | undefined>;
}

async function connectReconnecting(url: string, transport: HttpTransportType, protocol?: IHubProtocol): Promise<Reconnecting> {
  let builder = new HubConnectionBuilder().withUrl(url, { transport }).withAutomaticReconnect().configureLogging(LogLevel.None);
  if (protocol !== undefined) builder = builder.withHubProtocol(protocol);
  const client = builder.build();
  clients.add(client);
  const reconnecting = new Promise<Error | undefined>((resolve) => client.onreconnecting(resolve));
  await client.start();
  return { client, reconnecting };
}

async function stopClients(): Promise<void> {
  await Promise.all([...clients].map((client) => client.stop().catch(() => undefined)));
  clients.clear();
}

async function start(options: SignalRModuleOptions = {}): Promise<{ app: TestApp; server: SignalRServer; journal: ShutdownJournal }> {
  const app = await startApp({
    imports: [SignalRModule.forRoot(options)],
    controllers: [ShutdownProbeController],
    providers: [ShutdownHub, ShutdownJournal],
  });
  return { app, server: app.app.get(SignalRServer), journal: app.app.get(ShutdownJournal) };
}

/** Milliseconds `work` took. */
async function timed(work: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await work;
  return Date.now() - started;
}

afterEach(stopClients);

describe('graceful shutdown', () => {
  const MATRIX: Array<[string, HttpTransportType, IHubProtocol | undefined]> = [
    ['WebSockets/json', HttpTransportType.WebSockets, undefined],
    ['WebSockets/messagepack', HttpTransportType.WebSockets, new MessagePackHubProtocol()],
    ['ServerSentEvents/json', HttpTransportType.ServerSentEvents, undefined],
    ['LongPolling/json', HttpTransportType.LongPolling, undefined],
    ['LongPolling/messagepack', HttpTransportType.LongPolling, new MessagePackHubProtocol()],
  ];

  it('settles app.close() with clients connected on every transport and protocol; each sees a Close that lets it reconnect', async () => {
    const { app, server, journal } = await start();
    const connected = await Promise.all(MATRIX.map(([, transport, protocol]) => connectReconnecting(app.url(HUB), transport, protocol)));
    const ids = connected.map(({ client }) => client.connectionId!);
    for (const [i, { client }] of connected.entries()) await expect(client.invoke('Echo', MATRIX[i][0])).resolves.toBe(MATRIX[i][0]);
    // The app's own routes are untouched while the hub runs.
    const probe = await request(app.url('/shutdown-probe'));
    expect([probe.status, probe.body.toString()]).toEqual([200, '{"ok":true}']);
    expect(server.stats()).toEqual({ registered: 5, running: 5 });
    expect(server.draining).toBe(false);

    const took = await timed(app.close());

    // Nothing was running, so nothing waited for the drain timeout (5 s by default).
    expect(took).toBeLessThan(4000);
    // Close with allowReconnect and no error: every client entered reconnecting without an error.
    expect(await Promise.all(connected.map(({ reconnecting }) => reconnecting))).toEqual([undefined, undefined, undefined, undefined, undefined]);
    // Every onDisconnected ran, cleanly, before close() settled.
    expect(new Map([...journal.disconnects].filter(([id]) => ids.includes(id)))).toEqual(new Map(ids.map((id) => [id, undefined])));
    expect(journal.disconnects.size).toBe(5);
    expect(server.stats()).toEqual({ registered: 0, running: 0 });
  });

  it('refuses new connections with 503 while draining, serves running ones, and lets an invocation finish within the timeout', async () => {
    const { app, server, journal } = await start({ maximumParallelInvocationsPerClient: 2 });
    const ws = await connectReconnecting(app.url(HUB), HttpTransportType.WebSockets);
    // (Not long polling here: a poller between two polls at close time is not sent the Close.)
    const sse = await connectReconnecting(app.url(HUB), HttpTransportType.ServerSentEvents);
    const slowWs = ws.client.invoke('Slow', 'ws');
    const slowSse = sse.client.invoke('Slow', 'sse');
    await Promise.all([journal.startedSlow('ws'), journal.startedSlow('sse')]);
    // Negotiated before shutdown, its transport not started yet.
    const pending = await negotiate(app.url(HUB));

    const closing = app.close();
    await waitUntil(() => server.draining);

    // Negotiate, a WebSocket upgrade and the requests that would start SSE or long polling: 503.
    const refused = await request(`${app.url(HUB)}/negotiate?negotiateVersion=1`, { method: 'POST' });
    expect([refused.status, refused.headers['content-type'], refused.body.toString()]).toEqual([503, 'text/plain', SHUTTING_DOWN]);
    await expect(RawSocket.open(app.url(HUB))).rejects.toMatchObject({ status: 503, body: SHUTTING_DOWN });
    const stream = await request(`${app.url(HUB)}?id=${pending.connectionToken}`, { headers: { Accept: 'text/event-stream' } });
    expect([stream.status, stream.body.toString()]).toEqual([503, SHUTTING_DOWN]);
    const poll = await request(`${app.url(HUB)}?id=${pending.connectionToken}`);
    expect([poll.status, poll.body.toString()]).toEqual([503, SHUTTING_DOWN]);
    // A running connection's requests (here an SSE connection's POSTs) are still served.
    await expect(sse.client.invoke('Echo', 'still served')).resolves.toBe('still served');
    await expect(ws.client.invoke('Echo', 'still served')).resolves.toBe('still served');
    // Other paths still reach the app until Nest closes its server.
    expect((await request(app.url('/shutdown-probe'))).status).toBe(200);

    // The running invocations finish: their results arrive before the Close.
    journal.latch('ws').open();
    journal.latch('sse').open();
    await expect(slowWs).resolves.toBe('done ws');
    await expect(slowSse).resolves.toBe('done sse');
    expect(await timed(closing)).toBeLessThan(4000);
    expect(await Promise.all([ws.reconnecting, sse.reconnecting])).toEqual([undefined, undefined]);
    expect(journal.events).toEqual(['started ws', 'started sse', 'finished ws', 'finished sse']);
    expect([...journal.disconnects.values()]).toEqual([undefined, undefined]);
    expect(server.stats()).toEqual({ registered: 0, running: 0 });
  });

  it('abandons invocations still running after the drain timeout and stops waiting for a hung onDisconnected', async () => {
    const { app, server, journal } = await start({ shutdownTimeout: 300 });
    const busy = await connectReconnecting(app.url(HUB), HttpTransportType.WebSockets);
    const hung = await connectReconnecting(`${app.url(HUB)}?hang=1`, HttpTransportType.ServerSentEvents);
    const idle = await connectReconnecting(app.url(HUB), HttpTransportType.LongPolling);
    const slow = busy.client.invoke('Slow', 'never');
    const outcome = slow.then(
      (value) => ({ value }),
      (error: Error) => ({ error: error.message }),
    );
    await journal.startedSlow('never');
    // Read now: a reconnecting client forgets its id.
    const [busyId, hungId, idleId] = [busy, hung, idle].map(({ client }) => client.connectionId!);

    // 300 ms for the invocation, then 300 ms for the hooks.
    const took = await timed(app.close());
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(3000);

    expect(await outcome).toEqual({ error: CANCELED });
    expect(await Promise.all([busy, hung, idle].map(({ reconnecting }) => reconnecting))).toEqual([undefined, undefined, undefined]);
    // The busy and idle connections ended; the hung hook is still running, and counted as running.
    expect([...journal.disconnects.keys()].sort()).toEqual([busyId, idleId].sort());
    expect(server.stats()).toEqual({ registered: 0, running: 1 });

    journal.latch('hook').open();
    await waitUntil(() => server.stats().running === 0);
    expect([journal.disconnects.has(hungId), journal.disconnects.get(hungId)]).toEqual([true, undefined]);
    expect(journal.disconnects.size).toBe(3);
    // The abandoned invocation may still finish; its result goes nowhere.
    journal.latch('never').open();
    await waitUntil(() => journal.events.includes('finished never'));
    expect(server.stats()).toEqual({ registered: 0, running: 0 });
  });

  it('does not wait for open streams: they end with their connections at once', async () => {
    const { app, journal } = await start();
    const clients = await Promise.all(TRANSPORT_LIST.map((transport) => connectReconnecting(app.url(HUB), transport)));
    const outcomes = clients.map(
      ({ client }) =>
        new Promise<string>((resolve) => {
          let first = true;
          client.stream('Ticks').subscribe({
            next: () => {
              if (first) {
                first = false;
                resolve('streaming');
              }
            },
            error: () => undefined,
            complete: () => undefined,
          });
        }),
    );
    expect(await Promise.all(outcomes)).toEqual(['streaming', 'streaming', 'streaming']);

    // The default drain timeout is 5 s: streams must not hold it.
    expect(await timed(app.close())).toBeLessThan(2000);
    // Each generator was told to return; one that was awaiting its timer runs its finally when that fires.
    await waitUntil(() => journal.events.filter((event) => event === 'ticks ended').length === 3);
  });

  it('cuts off a WebSocket that does not answer the close frame after 1 s, not the usual 5 s', async () => {
    const { app, server } = await start();
    const raw = await RawSocket.handshaken(app.url(HUB));
    // The client stops reading: it never sees the Close nor the close frame, so it never answers.
    raw.socket.pause();

    const took = await timed(app.close());

    // The app's server closes only once that socket is gone: cut off after 1 s.
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(3000);
    // What it had received before the cut: the Close that lets it reconnect.
    raw.socket.resume();
    expect((await raw.nextFrame()).data.toString()).toBe(`{"type":7,"allowReconnect":true}${RS}`);
    expect(server.stats()).toEqual({ registered: 0, running: 0 });
  });

  it('runs the same drain on SIGTERM with enableShutdownHooks, and the process ends', async () => {
    const child = spawn(process.execPath, [path.join(__dirname, '../fixtures/shutdown-sigterm.app.js')], {
      env: { ...process.env, SIGNALR_TEST_PLATFORM: PLATFORM },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      await waitUntil(() => /listening \d+\n/.test(stdout) || child.exitCode !== null, 15_000);
      expect(stderr).toBe('');
      const port = /listening (\d+)/.exec(stdout)![1];
      const url = `http://127.0.0.1:${port}${HUB}`;
      const connected = [
        await connectReconnecting(url, HttpTransportType.WebSockets),
        await connectReconnecting(url, HttpTransportType.LongPolling, new MessagePackHubProtocol()),
      ];
      await expect(connected[0].client.invoke('Echo', 'up')).resolves.toBe('up');

      const killedAt = Date.now();
      child.kill('SIGTERM');
      // Nest closes the app, then re-raises the signal on itself, so the process ends by SIGTERM.
      expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
      expect(Date.now() - killedAt).toBeLessThan(5000);
      expect(await Promise.all(connected.map(({ reconnecting }) => reconnecting))).toEqual([undefined, undefined]);
      expect(stdout.split('\n').slice(1)).toEqual(['shutdown SIGTERM disconnects=2', '']);
      expect(stderr).toBe('');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
