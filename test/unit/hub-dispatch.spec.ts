import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SignalRModule } from '../../src/index.js';
import { HubTestClient, MessageType, type TestProtocolName } from '../../src/testing/index.js';
import { ClientResultsHub } from '../fixtures/client-results-hub.js';
import { gate, InvocationHub } from '../fixtures/invocation.hub.js';
import { StreamServerHub } from '../fixtures/stream-server.hub.js';
import { StreamUploadHub } from '../fixtures/stream-upload.hub.js';
import { waitUntil } from '../support/wait.js';

/**
 * The hub dispatcher through the in-memory transport: invocations, streams both ways and client
 * results, with the real connection loop and Nest pipeline, in milliseconds (the real-socket specs
 * cover the same ground per transport and client version).
 */
describe.each<TestProtocolName>(['json', 'messagepack'])('hub dispatch in memory (%s)', (protocol) => {
  let app: INestApplication;
  const clients: HubTestClient[] = [];
  const connect = async (hub: Parameters<typeof HubTestClient.connect>[1], options: Parameters<typeof HubTestClient.connect>[2] = {}) => {
    const client = await HubTestClient.connect(app, hub, { protocol, ...options });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SignalRModule.forRoot()],
      providers: [InvocationHub, StreamServerHub, StreamUploadHub, ClientResultsHub],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterEach(() => Promise.all(clients.splice(0).map((client) => client.close())));
  afterAll(() => app.close());

  describe('invocations', () => {
    it('returns results, null for void, by case-insensitive and wire names', async () => {
      const client = await connect(InvocationHub);
      expect(await client.invoke('Add', 2, 3)).toBe(5);
      expect(await client.invoke('addLater', 4, 5)).toBe(9);
      expect(await client.invoke('DoNothing')).toBeNull();
      expect(await client.invoke('EchoObject', { a: [1, 'two', null] })).toEqual({ a: [1, 'two', null] });
      expect(await client.invoke('renamed')).toBe('renamed');
      await expect(client.invoke('OriginalName')).rejects.toThrow(
        "Failed to invoke 'OriginalName' due to an error on the server. HubException: Method does not exist.",
      );
    });

    it('turns errors into the reference texts: HubException shown, others hidden, bad argument counts refused', async () => {
      const client = await connect(InvocationHub);
      await expect(client.invoke('ThrowHubException', 'Room is full')).rejects.toThrow(
        new Error("An unexpected error occurred invoking 'ThrowHubException' on the server. HubException: Room is full"),
      );
      await expect(client.invoke('ThrowError', 'secret')).rejects.toThrow(new Error("An unexpected error occurred invoking 'ThrowError' on the server."));
      await expect(client.invoke('RejectError', 'secret')).rejects.toThrow(new Error("An unexpected error occurred invoking 'RejectError' on the server."));
      await expect(client.invoke('Add', 1)).rejects.toThrow(new Error("Failed to invoke 'Add' due to an error on the server."));
      for (const target of ['_notInvocable', 'onConnected', 'constructor']) {
        await expect(client.invoke(target)).rejects.toThrow(`Failed to invoke '${target}' due to an error on the server. HubException: Method does not exist.`);
      }
    });

    it('answers a non-blocking invocation with nothing, not even an error', async () => {
      const client = await connect(InvocationHub);
      client.send('Add', 1, 2);
      client.send('ThrowError', 'x');
      client.send('Missing');
      expect(await client.invoke('Add', 20, 22)).toBe(42);
      expect(client.peer.received).toEqual([{ type: MessageType.Completion, invocationId: '1', result: 42 }]);
    });

    it('delivers what a method sends to its caller before its completion', async () => {
      const client = await connect(InvocationHub);
      const events: string[] = [];
      client.on('notice', (text: string) => events.push(`notice ${text}`));
      events.push(`result ${String(await client.invoke('NotifyThenReturn', 'hello'))}`);
      expect(events).toEqual(['notice hello', 'result done']);
    });

    it('dispatches one connection sequentially', async () => {
      const hub = app.get(InvocationHub);
      hub.order.length = 0;
      const client = await connect(InvocationHub);
      const entered = gate.whenEntered();
      const slow = client.invoke('Slow', 'a');
      await entered;
      const fast = client.invoke('Fast', 'b');
      expect(hub.order).toEqual(['start a']);
      gate.release!();
      expect(await Promise.all([slow, fast])).toEqual(['a', 'b']);
      expect(hub.order).toEqual(['start a', 'end a', 'fast b']);
    });
  });

  describe('server-to-client streams', () => {
    it('streams a generator and an Observable through guards and interceptors', async () => {
      const client = await connect(StreamServerHub);
      expect(await client.stream('Counter', 3).toArray()).toEqual([0, 1, 2]);
      expect(await client.stream('GuardedNumbers', 4).toArray()).toEqual([0, 1, 2, 3]);
      await expect(client.stream('GuardedNumbers', 13).toArray()).rejects.toThrow("Failed to invoke 'GuardedNumbers' because user is unauthorized");
    });

    it('ends a stream that fails midway with its error after the items before it', async () => {
      const client = await connect(StreamServerHub);
      const stream = client.stream('HubExceptionDuring');
      await expect(stream.toArray()).rejects.toThrow('An error occurred on the server while streaming results. HubException: Something bad');
      expect(stream.items).toEqual(['a']);
      await expect(client.stream('Add', 1, 2).toArray()).rejects.toThrow(
        "Failed to invoke 'Add' due to an error on the server. HubException: Method does not exist.",
      );
      await expect(client.stream('Plain').toArray()).rejects.toThrow(
        "The client attempted to invoke the non-streaming 'Plain' method with a streaming invocation.",
      );
    });

    it('cancels: the generator stops, its finally runs and its signal fires', async () => {
      const hub = app.get(StreamServerHub);
      const before = { ...hub.tickerStats };
      const client = await connect(StreamServerHub);
      const ticks = client.stream<number>('Ticker');
      for await (const tick of ticks) if (tick - before.produced >= 2) ticks.cancel();
      // A later invocation completes after the cancel was handled: the signal fired then; the
      // generator's finally runs once its pending delay is over.
      expect(await client.invoke('Plain')).toBe(42);
      expect(hub.tickerStats.aborted - before.aborted).toBe(1);
      await waitUntil(() => hub.tickerStats.finished === before.finished + 1);
      const produced = hub.tickerStats.produced;
      for (let i = 0; i < 3; i++) expect(await client.invoke('Plain')).toBe(42);
      expect(hub.tickerStats.produced).toBe(produced);
      const forever = client.stream('Forever');
      await new Promise<void>((resolve) => setImmediate(resolve));
      forever.cancel();
      expect(await client.invoke('Plain')).toBe(42);
      expect(hub.observed.unsubscribed).toBe(hub.observed.subscribed);
    });
  });

  describe('uploads', () => {
    it('feeds uploads to the method, one per @UploadStream() parameter, in order', async () => {
      const client = await connect(StreamUploadHub);
      const word = HubTestClient.upload<string>();
      const result = client.invoke('UploadWord', word);
      for (const part of ['he', 'll', 'o']) word.next(part);
      word.complete();
      expect(await result).toBe('hello');

      const [first, second] = [HubTestClient.upload<string>(), HubTestClient.upload<string>()];
      second.next('c');
      const joined = client.invoke('JoinWith', '-', first, second);
      first.next('a');
      first.next('b');
      first.complete();
      second.complete();
      expect(await joined).toBe('a-b-c');
    });

    it('streams back what an upload feeds, and fails the method with the client error', async () => {
      const client = await connect(StreamUploadHub);
      const numbers = HubTestClient.upload<number>();
      const doubled = client.stream<number>('EchoStream', numbers);
      numbers.next(1);
      numbers.next(21);
      numbers.complete();
      expect(await doubled.toArray()).toEqual([2, 42]);

      const broken = HubTestClient.upload<string>();
      const result = client.invoke('UploadWord', broken);
      broken.next('x');
      broken.complete('client gave up');
      await expect(result).rejects.toThrow("An unexpected error occurred invoking 'UploadWord' on the server.");
    });
  });

  describe('client results', () => {
    it('a hub method gets its caller’s answer, error or lack of handler', async () => {
      const client = await connect(ClientResultsHub);
      client.on('GetValue', (arg: unknown) => ({ value: 42, arg }));
      client.on('Throws', () => {
        throw new Error('from callback');
      });
      expect(await client.invoke('AskCaller', 'GetValue', 'hi')).toBe('result: {"value":42,"arg":"hi"}');
      expect(await client.invoke('AskCaller', 'Throws', null)).toBe('HubException: Error: from callback');
      expect(await client.invoke('AskCaller', 'NoSuchHandler', null)).toBe("HubException: Client didn't provide a result.");
    });

    it('a client may invoke the hub before it answers, with one invocation slot', async () => {
      const client = await connect(ClientResultsHub);
      client.on('AskBack', async (arg: string) => `got ${String(await client.invoke('Echo', arg))}`);
      expect(await client.invoke('AskCaller', 'AskBack', 'x')).toBe('result: "got x"');
      expect(await Promise.all([client.invoke('Echo', 'a'), client.invoke('Echo', 'b')])).toEqual(['a', 'b']);
    });

    it('asks another connection, and fails when it disconnects while the server waits', async () => {
      const asker = await connect(ClientResultsHub);
      const target = await connect(ClientResultsHub);
      target.on('GetValue', () => 7);
      expect(await asker.invoke('AskClient', target.connectionId, 'GetValue')).toBe('result: 7');
      expect(await asker.invoke('AskClient', 'nobody', 'GetValue')).toBe("IOException: Connection 'nobody' does not exist.");

      let entered!: () => void;
      const hanging = new Promise<void>((resolve) => (entered = resolve));
      target.on('Hang', () => (entered(), new Promise(() => undefined)));
      const outcome = asker.invoke('AskClient', target.connectionId, 'Hang');
      await hanging;
      await target.close();
      expect(await outcome).toBe(`IOException: Connection '${target.connectionId}' disconnected.`);
    });
  });
});
