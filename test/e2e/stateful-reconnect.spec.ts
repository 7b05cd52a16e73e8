import { HttpTransportType, HubConnection, HubConnectionBuilder, HubConnectionState, IHubProtocol, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import type { IncomingMessage } from 'http';
import type { Duplex } from 'stream';
import { SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { ShortWindowHub, StatefulHub, StatefulJournal, StatelessHub, TinyBufferHub } from '../fixtures/stateful.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { recordCalls } from '../support/client.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

const ABRUPT = 'The remote party closed the WebSocket connection without completing the close handshake.';

const clients = new Set<HubConnection>();

function statefulClient(url: string, options: { protocol?: IHubProtocol; transport?: HttpTransportType } = {}): HubConnection {
  let builder = new HubConnectionBuilder()
    .withUrl(url, { transport: options.transport ?? HttpTransportType.WebSockets })
    .withStatefulReconnect()
    .configureLogging(LogLevel.None);
  if (options.protocol) builder = builder.withHubProtocol(options.protocol);
  const client = builder.build();
  clients.add(client);
  return client;
}

const range = (count: number) => Array.from({ length: count }, (_, i) => i);

describe('Stateful reconnect', () => {
  let app: TestApp;
  let journal: StatefulJournal;
  /** The server side of every WebSocket upgrade, newest last: cutting one is what a dropped network does. */
  const upgrades: Array<{ url: string; socket: Duplex }> = [];

  beforeAll(async () => {
    app = await startApp({
      imports: [SignalRModule.forRoot({})],
      providers: [StatefulJournal, StatefulHub, ShortWindowHub, TinyBufferHub, StatelessHub],
    });
    app.app.getHttpServer().on('upgrade', (req: IncomingMessage, socket: Duplex) => upgrades.push({ url: req.url ?? '', socket }));
    journal = app.app.get(StatefulJournal);
  });
  afterEach(async () => {
    await Promise.all([...clients].map((client) => client.stop().catch(() => undefined)));
    clients.clear();
    journal.cut = null;
  });
  afterAll(() => app.close());

  /** Destroys the TCP connection under the newest WebSocket on `path`: no close frame either way, as when a network drops. */
  function cutLatest(path: string): void {
    const upgrade = [...upgrades].reverse().find((entry) => new URL(entry.url, 'http://x').pathname === path);
    if (upgrade === undefined) throw new Error(`no WebSocket on ${path}`);
    upgrade.socket.destroy();
  }

  async function negotiateStateful(path: string, ask = true): Promise<{ body: string; connectionToken: string }> {
    const response = await fetch(app.url(`${path}/negotiate?negotiateVersion=1${ask ? '&useStatefulReconnect=true' : ''}`), { method: 'POST' });
    const body = await response.text();
    return { body, connectionToken: JSON.parse(body).connectionToken };
  }

  /** A raw WebSocket with the handshake done at `version`, on a connection negotiated with the stateful flag. */
  async function rawStateful(path: string, version = 2): Promise<{ raw: RawSocket; token: string }> {
    const { connectionToken } = await negotiateStateful(path);
    const raw = await RawSocket.open(app.url(`${path}?id=${connectionToken}`));
    raw.sendText(`{"protocol":"json","version":${version}}${RS}`);
    expect((await raw.nextFrame()).data.toString()).toBe(`{}${RS}`);
    return { raw, token: connectionToken };
  }

  describe('negotiate', () => {
    it('grants the flag, first in the body, when the hub allows it and the client asks', async () => {
      const { body } = await negotiateStateful('/hubs/stateful');
      expect(body.startsWith('{"useStatefulReconnect":true,"negotiateVersion":1,"connectionId":"')).toBe(true);
    });

    it('never sends the flag unasked, nor when the hub does not allow it', async () => {
      expect((await negotiateStateful('/hubs/stateful', false)).body).not.toContain('useStatefulReconnect');
      expect((await negotiateStateful('/hubs/stateless')).body).not.toContain('useStatefulReconnect');
    });

    it('lets the official client ask on a hub that does not allow it: it connects, and a cut socket ends the connection', async () => {
      const client = statefulClient(app.url('/hubs/stateless'));
      await client.start();
      const id = await client.invoke('ConnectionId');
      const before = journal.disconnected.length;
      const closed = new Promise<Error | undefined>((resolve) => client.onclose(resolve));
      cutLatest('/hubs/stateless');
      expect((await closed)?.message).toBe('WebSocket closed with status code: 1006 (no reason given).');
      await journal.disconnects(before + 1);
      expect(journal.disconnected[before]).toEqual({ connectionId: id, error: ABRUPT });
    });
  });

  describe.each([
    ['JSON', undefined],
    ['MessagePack', () => new MessagePackHubProtocol()],
  ] as const)('official client over WebSockets with %s', (_name, protocol) => {
    it('re-attaches a socket cut mid-burst: every item exactly once and in order, same connection, no onDisconnected', async () => {
      const client = statefulClient(app.url('/hubs/stateful'), { protocol: protocol?.() });
      const items = recordCalls(client, 'Item');
      let reconnecting = 0;
      let closedWith: Error | undefined | null = null;
      client.onreconnecting(() => reconnecting++);
      client.onclose((error) => (closedWith = error));
      await client.start();
      const connectionId = await client.invoke<string>('ConnectionId');
      const disconnectsBefore = journal.disconnected.length;
      const upgradesBefore = upgrades.length;
      journal.cut = () => cutLatest('/hubs/stateful');

      expect(await client.invoke('Burst', 600, 250)).toBe(600);

      expect(upgrades.length).toBe(upgradesBefore + 1); // the re-attach: one new WebSocket, no negotiate
      expect(items.map(([value]) => value)).toEqual(range(600));
      expect(await client.invoke('ConnectionId')).toBe(connectionId);
      expect(client.state).toBe(HubConnectionState.Connected);
      expect(reconnecting).toBe(0);
      expect(closedWith).toBeNull();
      expect(journal.disconnected.length).toBe(disconnectsBefore);
    });

    it("delivers the client's own sends exactly once across a cut (the server drops the replayed duplicates)", async () => {
      const client = statefulClient(app.url('/hubs/stateful'), { protocol: protocol?.() });
      await client.start();
      journal.received.length = 0;
      const upgradesBefore = upgrades.length;
      const sends: Array<Promise<void>> = [];
      for (let i = 0; i < 100; i++) sends.push(client.send('Record', i));
      await waitUntil(() => journal.received.length >= 50);
      cutLatest('/hubs/stateful');
      for (let i = 100; i < 200; i++) sends.push(client.send('Record', i));
      await Promise.all(sends);

      expect(await client.invoke('Received')).toEqual(range(200));
      expect(upgrades.length).toBe(upgradesBefore + 1);
    });
  });

  it('is not used on Server-Sent Events or Long Polling: the client asks, connects and works as usual', async () => {
    for (const transport of [HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling]) {
      const client = statefulClient(app.url('/hubs/stateful'), { transport });
      await client.start();
      expect(await client.invoke('Burst', 3, -1)).toBe(3);
      await client.stop();
    }
  });

  describe('on the wire', () => {
    /** The next `count` records other than pings and the server's Acks (which come on its own tick). */
    async function records(raw: RawSocket, count: number): Promise<any[]> {
      const out: any[] = [];
      while (out.length < count) {
        const record = await raw.nextMessage();
        if (record.type !== 8) out.push(record);
      }
      return out;
    }

    it('acknowledges what it processed within a second, on its tick', async () => {
      const { raw } = await rawStateful('/hubs/stateful');
      raw.send({ type: 1, invocationId: '1', target: 'ConnectionId', arguments: [] }, { type: 1, target: 'Record', arguments: [7] });
      expect((await raw.nextRecords(2)).map((record) => record.type)).toEqual([3, 8]);
      expect(
        raw.frames
          .map((frame) => parseRecordsLoose(frame.data))
          .flat()
          .filter((record) => record.type === 8),
      ).toEqual([{ type: 8, sequenceId: 2 }]);
      raw.close();
    });

    it("replays unacknowledged messages after a Sequence on the new socket, and drops the client's duplicates", async () => {
      const { raw, token } = await rawStateful('/hubs/stateful');
      const burstsBefore = journal.bursts;
      raw.send({ type: 1, invocationId: '1', target: 'Burst', arguments: [2, -1] });
      expect(await records(raw, 3)).toEqual([
        { type: 1, target: 'Item', arguments: [0] },
        { type: 1, target: 'Item', arguments: [1] },
        { type: 3, invocationId: '1', result: 2 },
      ]);
      // We acknowledge Item 0 only; the completion of a later call proves the server read that Ack.
      raw.send({ type: 8, sequenceId: 1 }, { type: 1, invocationId: '2', target: 'ConnectionId', arguments: [] });
      const [second] = await records(raw, 1);
      expect(second).toMatchObject({ type: 3, invocationId: '2' });
      raw.socket.terminate();

      const next = await RawSocket.open(app.url(`/hubs/stateful?id=${token}`));
      // No handshake on a re-attach: the Sequence comes first, then what we did not acknowledge, in order.
      expect(await records(next, 4)).toEqual([
        { type: 9, sequenceId: 2 },
        { type: 1, target: 'Item', arguments: [1] },
        { type: 3, invocationId: '1', result: 2 },
        second,
      ]);
      // Our replay: Sequence 1, both invocations again (duplicates: dropped), then a new one.
      next.send(
        { type: 9, sequenceId: 1 },
        { type: 1, invocationId: '1', target: 'Burst', arguments: [2, -1] },
        { type: 1, invocationId: '2', target: 'ConnectionId', arguments: [] },
        { type: 1, invocationId: '3', target: 'Bursts', arguments: [] },
      );
      expect(await records(next, 1)).toEqual([{ type: 3, invocationId: '3', result: burstsBefore + 1 }]);
      next.close();
    });

    it('announces the next id in the Sequence when everything was acknowledged', async () => {
      const { raw, token } = await rawStateful('/hubs/stateful');
      raw.send({ type: 1, invocationId: '1', target: 'Burst', arguments: [1, -1] });
      expect(await records(raw, 2)).toEqual([
        { type: 1, target: 'Item', arguments: [0] },
        { type: 3, invocationId: '1', result: 1 },
      ]);
      raw.send({ type: 8, sequenceId: 2 }, { type: 1, invocationId: '2', target: 'Bursts', arguments: [] });
      const [third] = await records(raw, 1);
      raw.send({ type: 8, sequenceId: 3 }, { type: 1, invocationId: '3', target: 'Bursts', arguments: [] });
      const [fourth] = await records(raw, 1);
      expect([third.invocationId, fourth.invocationId]).toEqual(['2', '3']);
      raw.socket.terminate();

      const next = await RawSocket.open(app.url(`/hubs/stateful?id=${token}`));
      expect(await records(next, 2)).toEqual([{ type: 9, sequenceId: 4 }, fourth]);
      next.close();
    });

    it("closes the connection when the client's Sequence claims more than it sent", async () => {
      const { raw, token } = await rawStateful('/hubs/stateful');
      raw.socket.terminate();
      const next = await RawSocket.open(app.url(`/hubs/stateful?id=${token}`));
      expect(await records(next, 1)).toEqual([{ type: 9, sequenceId: 1 }]);
      next.send({ type: 9, sequenceId: 5 });
      expect(await records(next, 1)).toEqual([{ type: 7, error: 'Connection closed with an error.', allowReconnect: true }]);
      expect(await next.closed()).toBe(1000);
    });

    it('does not use the feature after a version 1 handshake: a second socket is refused with 409', async () => {
      const { raw, token } = await rawStateful('/hubs/stateful', 1);
      await expect(RawSocket.open(app.url(`/hubs/stateful?id=${token}`))).rejects.toMatchObject({ status: 409 });
      raw.close();
    });

    it('ends the connection, with onDisconnected, when the client does not come back within the window', async () => {
      const { raw, token } = await rawStateful('/hubs/stateful-short');
      raw.send({ type: 1, invocationId: '1', target: 'ConnectionId', arguments: [] });
      const [{ result: connectionId }] = await records(raw, 1);
      const before = journal.disconnected.length;
      raw.socket.terminate();
      await journal.disconnects(before + 1);
      expect(journal.disconnected[before]).toEqual({ connectionId, error: ABRUPT });
      await expect(RawSocket.open(app.url(`/hubs/stateful-short?id=${token}`))).rejects.toMatchObject({ status: 404 });
      await waitUntil(() => app.app.get(SignalRServer).stats().running === 0);
    });

    it('holds sends beyond the unacknowledged window until the client acknowledges (backpressure)', async () => {
      const { raw } = await rawStateful('/hubs/stateful-tiny');
      const doneBefore = journal.burstsDone;
      raw.send({ type: 1, invocationId: '1', target: 'Burst', arguments: [20, -1] });
      await waitUntil(() => journal.burstsDone === doneBefore + 1);
      // The window lets its items out in one write; a ping written after that write proves nothing else went.
      const seen: any[] = [];
      for (;;) {
        const frame = parseRecordsLoose((await raw.nextFrame()).data);
        if (seen.length > 0 && frame.some((record) => record.type === 6)) break;
        seen.push(...frame.filter((record) => record.type === 1 || record.type === 3));
      }
      // Every Item record is 43 bytes with its separator: the 200-byte window is passed by the 5th.
      expect(seen).toEqual(range(5).map((i) => ({ type: 1, target: 'Item', arguments: [i] })));
      raw.send({ type: 8, sequenceId: 5 });
      expect(await records(raw, 5)).toEqual(range(5).map((i) => ({ type: 1, target: 'Item', arguments: [i + 5] })));
      raw.close();
    });
  });
});

function parseRecordsLoose(data: Buffer): any[] {
  return data
    .toString()
    .split(RS)
    .filter(Boolean)
    .map((record) => JSON.parse(record));
}
