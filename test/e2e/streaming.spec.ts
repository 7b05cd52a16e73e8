import { HttpTransportType, HubConnection, HubConnectionBuilder, IStreamResult, LogLevel, Subject } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { SignalRModule } from '../../src/index.js';
import { SignalRServer } from '../../src/signalr.server.js';
import { CountingInterceptor, StreamServerHub } from '../fixtures/stream-server.hub.js';
import { StreamUploadHub } from '../fixtures/stream-upload.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { buildClient, stopAll } from '../support/client.js';
import { RawSocket } from '../support/raw-socket.js';
import { waitUntil } from '../support/wait.js';

/** What a subscriber saw: items in order, then how the stream ended. */
interface Outcome {
  items: unknown[];
  error?: string;
}

/** Subscribes and resolves when the stream completes or fails. */
function collect(result: IStreamResult<unknown>): Promise<Outcome> {
  return new Promise((resolve) => {
    const items: unknown[] = [];
    result.subscribe({
      next: (item) => void items.push(item),
      complete: () => resolve({ items }),
      error: (error) => resolve({ items, error: (error as Error).message }),
    });
  });
}

const msgpackClients = new Set<HubConnection>();

async function connectWith(url: string, transport: HttpTransportType, msgpack: boolean): Promise<HubConnection> {
  if (!msgpack) {
    const connection = buildClient(url, { transport });
    await connection.start();
    return connection;
  }
  const connection = new HubConnectionBuilder()
    .withUrl(url, { transport })
    .withHubProtocol(new MessagePackHubProtocol())
    .configureLogging(LogLevel.None)
    .build();
  msgpackClients.add(connection);
  await connection.start();
  return connection;
}

const SETUPS = [
  ['WebSockets', HttpTransportType.WebSockets, false],
  ['ServerSentEvents', HttpTransportType.ServerSentEvents, false],
  ['LongPolling', HttpTransportType.LongPolling, false],
  ['WebSockets + MessagePack', HttpTransportType.WebSockets, true],
] as const;

describe('Streaming', () => {
  let app: TestApp;
  let server: SignalRServer;
  let streams: StreamServerHub;
  let uploads: StreamUploadHub;

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [StreamServerHub, StreamUploadHub] });
    server = app.app.get(SignalRServer);
    streams = app.app.get(StreamServerHub);
    uploads = app.app.get(StreamUploadHub);
  });
  afterAll(async () => {
    await stopAll();
    await Promise.all([...msgpackClients].map((connection) => connection.stop()));
    await app.close();
  });

  describe.each(SETUPS)('over %s', (_name, transport, msgpack) => {
    let client: HubConnection;
    let uploader: HubConnection;

    beforeAll(async () => {
      client = await connectWith(app.url('/hubs/stream-server'), transport, msgpack);
      uploader = await connectWith(app.url('/hubs/stream-upload'), transport, msgpack);
    });
    afterAll(async () => {
      await Promise.all([client.stop(), uploader.stop()]);
    });

    it('streams a generator’s items in order, then completes', async () => {
      expect(await collect(client.stream('Counter', 5))).toEqual({ items: [0, 1, 2, 3, 4] });
      expect(await collect(client.stream('Counter', 0))).toEqual({ items: [] });
    });

    it('streams an Observable’s items in order, then completes', async () => {
      expect(await collect(client.stream('Numbers', 4))).toEqual({ items: [0, 1, 2, 3] });
    });

    it('streams an Observable’s items through guards and interceptors (not just its last value)', async () => {
      const calls = CountingInterceptor.calls;
      expect(await collect(client.stream('GuardedNumbers', 3))).toEqual({ items: [0, 1, 2] });
      expect(await collect(client.stream('LaterNumbers', 2))).toEqual({ items: [0, 1] });
      expect(CountingInterceptor.calls).toBe(calls + 2);
      expect(await collect(client.stream('GuardedNumbers', 13))).toEqual({
        items: [],
        error: "Failed to invoke 'GuardedNumbers' because user is unauthorized",
      });
    });

    it('runs the generator body in the caller’s scope', async () => {
      expect(await collect(client.stream('WhoAmI'))).toEqual({ items: [client.connectionId] });
    });

    it('stops the producer when the subscriber disposes, fires its AbortSignal and runs its finally', async () => {
      const before = { ...streams.tickerStats };
      await new Promise<void>((resolve) => {
        const subscription = client.stream('Ticker').subscribe({
          next: (item) => {
            if (item === before.produced + 3) {
              subscription.dispose();
              resolve();
            }
          },
          complete: () => undefined,
          error: () => undefined,
        });
      });
      await waitUntil(() => streams.tickerStats.finished === before.finished + 1);
      expect(streams.tickerStats.aborted).toBe(before.aborted + 1);
      const produced = streams.tickerStats.produced;
      // How many more it made before the cancel arrived depends on the transport's round trip.
      expect(produced - before.produced).toBeGreaterThanOrEqual(3);
      // The generator is closed: a few round trips later it has produced nothing more.
      for (let i = 0; i < 3; i++) expect(await client.invoke('Plain')).toBe(42);
      expect(streams.tickerStats.produced).toBe(produced);
    });

    it('unsubscribes an Observable when the subscriber disposes', async () => {
      const before = { ...streams.observed };
      await new Promise<void>((resolve) => {
        const subscription = client.stream('Forever').subscribe({
          next: () => {
            subscription.dispose();
            resolve();
          },
          complete: () => undefined,
          error: () => undefined,
        });
      });
      await waitUntil(() => streams.observed.unsubscribed === before.unsubscribed + 1);
      expect(streams.observed.subscribed).toBe(before.subscribed + 1);
    });

    it('reports errors before and during the stream with the reference texts', async () => {
      expect(await collect(client.stream('ThrowBefore'))).toEqual({
        items: [],
        error: "An unexpected error occurred invoking 'ThrowBefore' on the server.",
      });
      expect(await collect(client.stream('ThrowDuring'))).toEqual({
        items: [1],
        error: 'An error occurred on the server while streaming results.',
      });
      expect(await collect(client.stream('HubExceptionDuring'))).toEqual({
        items: ['a'],
        error: 'An error occurred on the server while streaming results. HubException: Something bad',
      });
    });

    it('refuses invoke on a streaming method and stream on a plain one', async () => {
      await expect(client.invoke('Counter', 3)).rejects.toThrow(
        "The client attempted to invoke the streaming 'Counter' method with a non-streaming invocation.",
      );
      expect(await collect(client.stream('Plain'))).toEqual({
        items: [],
        error: "The client attempted to invoke the non-streaming 'Plain' method with a streaming invocation.",
      });
      expect(await collect(client.stream('Missing'))).toEqual({
        items: [],
        error: "Failed to invoke 'Missing' due to an error on the server. HubException: Method does not exist.",
      });
    });

    it('runs a stream beside ordinary invocations of the same connection', async () => {
      const items: unknown[] = [];
      let first!: () => void;
      const gotFirst = new Promise<void>((resolve) => (first = resolve));
      const done = new Promise<void>((resolve, reject) =>
        client.stream('Gated').subscribe({
          next: (item) => {
            items.push(item);
            first();
          },
          complete: resolve,
          error: reject,
        }),
      );
      await gotFirst;
      // The stream waits for this invocation: with one invocation slot, it must not hold it.
      expect(await client.invoke('OpenGate')).toBe('opened');
      await done;
      expect(items).toEqual(['first', 'second']);
    });

    it('feeds an upload to the method as an async iterable', async () => {
      const subject = new Subject<string>();
      const word = uploader.invoke('UploadWord', subject);
      subject.next('Hello ');
      subject.next('world');
      subject.next('!');
      subject.complete();
      expect(await word).toBe('Hello world!');
    });

    it('binds several uploads after the sent arguments, in order', async () => {
      const first = new Subject<string>();
      const second = new Subject<string>();
      // The JS client skips a stream that directly follows another (it splices while iterating), so
      // an argument sits between them; it still sends arguments ['-'] and two streamIds.
      const joined = uploader.invoke('JoinWith', first, '-', second);
      second.next('c');
      first.next('a');
      first.next('b');
      first.complete();
      second.complete();
      expect(await joined).toBe('a-b-c');
    });

    it('surfaces an upload error in the method as a HubException', async () => {
      const subject = new Subject<string>();
      const word = uploader.invoke('UploadWord', subject);
      subject.next('partial');
      subject.error(new Error('Something bad'));
      await expect(word).rejects.toThrow("An unexpected error occurred invoking 'UploadWord' on the server. HubException: Something bad");
    });

    it('refuses a stream count the method does not take', async () => {
      await expect(uploader.invoke('Echo', 'x', new Subject())).rejects.toThrow(
        "An unexpected error occurred invoking 'Echo' on the server. HubException: Client sent 1 stream(s), Hub method expects 0.",
      );
      await expect(uploader.invoke('JoinWith', new Subject(), 'x')).rejects.toThrow(
        "An unexpected error occurred invoking 'JoinWith' on the server. HubException: Client sent 1 stream(s), Hub method expects 2.",
      );
    });

    it('completes the uploads of a method that finished first, and ignores their later items', async () => {
      const subject = new Subject<string>();
      const result = uploader.invoke('FirstOnly', subject);
      subject.next('one');
      expect(await result).toBe('one');
      subject.next('two');
      subject.complete();
      expect(await uploader.invoke('Echo', 'still here')).toBe('still here');
    });

    it('streams results of an upload back (StreamInvocation with streamIds)', async () => {
      const subject = new Subject<number>();
      const doubled = collect(uploader.stream('EchoStream', subject));
      for (const item of [1, 2, 3]) subject.next(item);
      subject.complete();
      expect(await doubled).toEqual({ items: [2, 4, 6] });
    });
  });

  it('holds the connection’s dispatch while an upload buffer is full, until the method reads', async () => {
    const client = await connectWith(app.url('/hubs/stream-upload'), HttpTransportType.WebSockets, false);
    const other = await connectWith(app.url('/hubs/stream-upload'), HttpTransportType.WebSockets, false);
    uploads.events.length = 0;
    const subject = new Subject<number>();
    const held = client.invoke('Hold', subject);
    for (let i = 1; i <= 12; i++) subject.next(i);
    subject.complete();
    // The client sends an upload's items from a promise chain; let them leave before the echo does.
    await new Promise((resolve) => setImmediate(resolve));
    const echoed = client.invoke('Echo', 'behind the uploads');
    await waitUntil(() => uploads.holding);
    // Round trips on another connection give the server time to reach the echo if it were not held.
    for (let i = 0; i < 5; i++) expect(await other.invoke('Echo', 'other')).toBe('other');
    expect(uploads.events.filter((event) => event !== 'echo other')).toEqual([]);
    await other.invoke('OpenGate');
    expect(await held).toBe(12);
    expect(await echoed).toBe('behind the uploads');
    const events = uploads.events.filter((event) => event !== 'echo other');
    // The echo waited behind the uploads: it ran only once the method had read some of them.
    expect(events.filter((event) => event.startsWith('item'))).toEqual(Array.from({ length: 12 }, (_, i) => `item ${i + 1}`));
    expect(events[0]).toBe('gate');
    expect(events.indexOf('echo behind the uploads')).toBeGreaterThan(1);
    expect(events).toHaveLength(14);
    await Promise.all([client.stop(), other.stop()]);
  });

  it('refuses an active stream id, cancels with a final Completion, and ignores unknown ids (raw frames)', async () => {
    const raw = await RawSocket.handshaken(app.url('/hubs/stream-server'));
    raw.send({ type: 4, invocationId: 's1', target: 'Ticker', arguments: [] });
    expect(await raw.nextMessage()).toMatchObject({ type: 2, invocationId: 's1' });
    raw.send({ type: 4, invocationId: 's1', target: 'Counter', arguments: [3] });
    let message = await raw.nextMessage();
    while (message.type === 2) message = await raw.nextMessage();
    expect(message).toEqual({ type: 3, invocationId: 's1', error: "Invocation ID 's1' is already in use." });
    raw.send({ type: 5, invocationId: 's1' });
    message = await raw.nextMessage();
    while (message.type === 2) message = await raw.nextMessage();
    expect(message).toEqual({ type: 3, invocationId: 's1' });
    raw.send(
      { type: 2, invocationId: 'nope', item: 1 },
      { type: 3, invocationId: 'nope' },
      { type: 5, invocationId: 'nope' },
      { type: 1, invocationId: 'p', target: 'Plain', arguments: [] },
    );
    // Nothing of the cancelled stream follows its Completion.
    expect(await raw.nextMessage()).toEqual({ type: 3, invocationId: 'p', result: 42 });
    raw.close();
    await raw.closed();
  });

  it('ends a running stream with its connection and leaves nothing behind', async () => {
    const client = await connectWith(app.url('/hubs/stream-server'), HttpTransportType.WebSockets, false);
    const before = { ...streams.tickerStats };
    const first = new Promise<void>((resolve) =>
      client.stream('Ticker').subscribe({ next: () => resolve(), complete: () => undefined, error: () => undefined }),
    );
    await first;
    await client.stop();
    await waitUntil(() => streams.tickerStats.finished === before.finished + 1);
    expect(streams.tickerStats.aborted).toBe(before.aborted + 1);
    await stopAll();
    await Promise.all([...msgpackClients].map((connection) => connection.stop()));
    await waitUntil(() => server.stats().running === 0 && server.stats().registered === 0);
    expect(server.stats()).toEqual({ registered: 0, running: 0 });
  });
});
