import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SignalRModule } from '../../src/index.js';
import { HubMessage, HubTestClient, InMemoryPeer, MessageType } from '../../src/testing/index.js';
import { LoopHub, loopEvents, loopGate, SlowReaderLoopHub, TimedLoopHub } from '../fixtures/connection-loop.hubs.js';
import { waitUntil } from '../support/wait.js';

/**
 * The hub connection loop's states (handshaking, connecting, connected, closed) through the in-memory
 * transport: the real handler, dispatcher and lifetime manager, bytes in and out without a socket.
 */
describe('hub connection loop (in memory)', () => {
  let app: INestApplication;
  const peers: InMemoryPeer[] = [];
  const open = async (
    hub: typeof LoopHub | typeof TimedLoopHub | typeof SlowReaderLoopHub = LoopHub,
    options: Parameters<typeof HubTestClient.openPeer>[2] = {},
  ) => {
    const peer = await HubTestClient.openPeer(app, hub, options);
    peers.push(peer);
    return peer;
  };
  /** The next message that is not a keep-alive ping. */
  const nextMessage = async (peer: InMemoryPeer): Promise<HubMessage> => {
    for (;;) {
      const message = await peer.next();
      if (message.type !== MessageType.Ping) return message;
    }
  };
  const id = (peer: InMemoryPeer) => peer.connectionId;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [SignalRModule.forRoot()], providers: [LoopHub, TimedLoopHub, SlowReaderLoopHub] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) {
      peer.disconnect();
      await peer.ended;
    }
    loopEvents.length = 0;
  });
  afterAll(() => app.close());

  describe('handshake', () => {
    it.each([
      ['an unknown protocol', '{"protocol":"xml","version":1}\u001e', "The protocol 'xml' is not supported."],
      ['a version too high', '{"protocol":"json","version":99}\u001e', "The server does not support version 99 of the 'json' protocol."],
      ['a request that is not JSON', 'hello\u001e', 'An unexpected error occurred during connection handshake.'],
    ])('answers %s with an error, closes, and never runs onConnected', async (_case, request, error) => {
      const peer = await open();
      peer.writeRaw(request);
      expect(await peer.readHandshake()).toEqual({ error });
      await peer.closed;
      await peer.ended;
      expect(peer.received).toEqual([]);
      expect(peer.transport.closeCalls).toEqual([undefined]);
      expect(loopEvents).toEqual([]);
    });

    it('refuses MessagePack on a text-only transport (Server-Sent Events)', async () => {
      const peer = await open(LoopHub, { transport: 'ServerSentEvents' });
      peer.writeHandshake('messagepack');
      expect(await peer.readHandshake()).toEqual({
        error: "Cannot use the 'messagepack' protocol on the current transport. The transport does not support 'Binary' transfer format.",
      });
      await peer.closed;
    });

    it('reads a handshake split across writes, and dispatches messages that came with it after onConnected', async () => {
      const peer = await open(LoopHub, { protocol: 'messagepack' });
      const handshake = Buffer.from('{"protocol":"messagepack","version":1}\u001e');
      peer.writeRaw(handshake.subarray(0, 10));
      peer.writeRaw(
        Buffer.concat([
          handshake.subarray(10),
          peer.protocol.writeMessage({ type: MessageType.Invocation, invocationId: '1', target: 'echo', arguments: ['first'] }),
        ]),
        true,
      );
      expect(await peer.readHandshake()).toEqual({});
      expect(await nextMessage(peer)).toEqual({ type: MessageType.Completion, invocationId: '1', result: 'first' });
      expect(loopEvents).toEqual([`connected ${id(peer)}`]);
    });

    it('times out a connection that sends no handshake (handshakeTimeout)', async () => {
      const peer = await open(TimedLoopHub);
      expect(await peer.readHandshake()).toEqual({ error: 'Handshake was canceled.' });
      await peer.closed;
      await peer.ended;
      expect(loopEvents).toEqual([]);
    });

    it('refuses a handshake larger than maximumReceiveMessageSize', async () => {
      const peer = await open();
      peer.writeRaw(`{"protocol":"json","version":1,"pad":"${'x'.repeat(1100)}"}\u001e`);
      expect(await peer.readHandshake()).toEqual({ error: 'Handshake was canceled.' });
      await peer.closed;
    });
  });

  describe('connected', () => {
    const connect = async (
      hub: typeof LoopHub | typeof TimedLoopHub | typeof SlowReaderLoopHub = LoopHub,
      options: Parameters<typeof HubTestClient.openPeer>[2] = {},
    ) => {
      const peer = await open(hub, options);
      peer.writeHandshake();
      expect(await peer.readHandshake()).toEqual({});
      return peer;
    };

    it('ends on the client Close: a plain Close back, then onDisconnected with its error', async () => {
      const peer = await connect();
      peer.write({ type: MessageType.Invocation, invocationId: '1', target: 'echo', arguments: [1] });
      expect(await nextMessage(peer)).toEqual({ type: MessageType.Completion, invocationId: '1', result: 1 });
      peer.write({ type: MessageType.Close, error: 'bye' });
      expect(await nextMessage(peer)).toEqual({ type: MessageType.Close, allowReconnect: false });
      await peer.ended;
      expect(loopEvents).toEqual([`connected ${id(peer)}`, `disconnected ${id(peer)}: bye`]);
      expect(peer.transport.closed).toBe(true);
    });

    it('ends when the transport goes away, onDisconnected getting the transport error', async () => {
      const peer = await connect();
      await new Promise((resolve) => setImmediate(resolve));
      peer.disconnect(new Error('socket reset'));
      await peer.ended;
      expect(loopEvents).toEqual([`connected ${id(peer)}`, `disconnected ${id(peer)}: socket reset`]);
      expect(peer.transport.closed).toBe(false); // nothing to close: the client side went away
    });

    it('closes with an error when onConnected throws, and owes no onDisconnected', async () => {
      const peer = await connect(LoopHub, { request: { url: '/hubs/loop?fail=async' } });
      expect(await nextMessage(peer)).toEqual({ type: MessageType.Close, error: 'Connection closed with an error.', allowReconnect: false });
      await peer.ended;
      expect(loopEvents).toEqual([]);
    });

    it('makes HubTestClient.connect reject when onConnected fails', async () => {
      await expect(HubTestClient.connect(app, LoopHub, { request: { url: '/hubs/loop?fail=sync' } })).rejects.toThrow(
        'The server closed the connection before onConnected completed: Connection closed with an error.',
      );
      expect(loopEvents).toEqual([]);
    });

    it('closes with an error on a message larger than maximumReceiveMessageSize', async () => {
      const peer = await connect();
      peer.write({ type: MessageType.Invocation, invocationId: '1', target: 'echo', arguments: ['x'.repeat(1100)] });
      expect(await nextMessage(peer)).toEqual({ type: MessageType.Close, error: 'Connection closed with an error.', allowReconnect: true });
      await peer.ended;
      expect(loopEvents).toEqual([
        `connected ${id(peer)}`,
        `disconnected ${id(peer)}: The maximum message size of 1024B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.`,
      ]);
    });

    it('closes with an error on a record that does not parse', async () => {
      const peer = await connect();
      peer.writeRaw('{"type":1,"target":42}\u001e');
      expect(await nextMessage(peer)).toMatchObject({ type: MessageType.Close, error: 'Connection closed with an error.' });
      await peer.ended;
    });

    it('pings an idle client every keepAliveInterval', async () => {
      const peer = await connect(TimedLoopHub);
      const started = Date.now();
      expect(await peer.next()).toEqual({ type: MessageType.Ping });
      expect(await peer.next()).toEqual({ type: MessageType.Ping });
      expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    });

    it('closes a client silent for clientTimeoutInterval after its first ping', async () => {
      const peer = await connect(TimedLoopHub);
      peer.write({ type: MessageType.Ping });
      const started = Date.now();
      expect(await nextMessage(peer)).toEqual({ type: MessageType.Close, error: 'Connection closed with an error.', allowReconnect: true });
      expect(Date.now() - started).toBeGreaterThanOrEqual(110);
      await peer.ended;
      expect(loopEvents).toEqual(["disconnected timed: Client hasn't sent a message/ping within the configured clientTimeoutInterval."]);
    });

    it('pauses reading above 64 queued messages, holds what comes meanwhile, and resumes at 16', async () => {
      const peer = await connect();
      const invocation = (invocationId: string, target: string, args: unknown[]) =>
        peer.protocol.writeMessage({ type: MessageType.Invocation, invocationId, target, arguments: args });
      // `hold` takes the only invocation slot: the 100 echos behind it queue up.
      const records = [invocation('hold', 'hold', []), ...Array.from({ length: 100 }, (_, index) => invocation(String(index), 'echo', [index]))];
      peer.writeRaw(Buffer.concat(records));
      expect(peer.transport.paused).toBe(true);
      peer.writeRaw(invocation('late', 'echo', ['late']));
      loopGate.open!();
      expect(await nextMessage(peer)).toEqual({ type: MessageType.Completion, invocationId: 'hold', result: 'held' });
      const results: unknown[] = [];
      for (let index = 0; index <= 100; index++) results.push(((await nextMessage(peer)) as { result: unknown }).result);
      expect(results).toEqual([...Array.from({ length: 100 }, (_, index) => index), 'late']);
      expect(peer.transport.paused).toBe(false);
    });

    it('holds invocations while the client has more than maximumSendBufferSize to read, and goes on once it read', async () => {
      const peer = await connect(SlowReaderLoopHub);
      peer.holdReads();
      peer.write({ type: MessageType.Invocation, invocationId: '1', target: 'flood', arguments: [3] });
      peer.write({ type: MessageType.Invocation, invocationId: '2', target: 'echo', arguments: ['after'] });
      await waitUntil(() => peer.transport.drainWatched);
      expect(peer.transport.bufferedAmount).toBeGreaterThan(1500);
      expect(loopEvents).toEqual(['flood 3']);
      peer.releaseReads();
      const messages = [];
      for (let i = 0; i < 5; i++) messages.push(await nextMessage(peer));
      expect(messages.map((message) => (message.type === MessageType.Invocation ? `${message.target} ${String(message.arguments[0])}` : message))).toEqual([
        'chunk 0',
        'chunk 1',
        'chunk 2',
        { type: MessageType.Completion, invocationId: '1', result: 3 },
        { type: MessageType.Completion, invocationId: '2', result: 'after' },
      ]);
      expect(loopEvents).toEqual(['flood 3', 'echo after']);
    });

    it('closes a client that stays over maximumSendBufferSize for sendBufferTimeout', async () => {
      const peer = await connect(SlowReaderLoopHub);
      peer.holdReads();
      const started = Date.now();
      peer.write({ type: MessageType.Invocation, invocationId: '1', target: 'flood', arguments: [3] });
      await peer.closed;
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      await peer.ended;
      peer.releaseReads();
      expect(peer.received[peer.received.length - 1]).toEqual({ type: MessageType.Close, error: 'Connection closed with an error.', allowReconnect: true });
      expect(loopEvents).toEqual(['flood 3', "disconnected slow: The connection's send buffer exceeded 1000 bytes."]);
    });

    it('closes every in-memory connection with a reconnectable Close when the app shuts down', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [SignalRModule.forRoot()], providers: [LoopHub] }).compile();
      const other = moduleRef.createNestApplication({ logger: false });
      await other.init();
      const peer = await HubTestClient.openPeer(other, LoopHub);
      peer.writeHandshake();
      await peer.readHandshake();
      await waitUntil(() => loopEvents.length === 1);
      await other.close();
      expect(await nextMessage(peer)).toEqual({ type: MessageType.Close, allowReconnect: true });
      await peer.ended;
      expect(loopEvents).toEqual([`connected ${id(peer)}`, `disconnected ${id(peer)}`]);
      await expect(HubTestClient.openPeer(other, LoopHub)).rejects.toThrow('LoopHub is not served by this app');
    });
  });
});
