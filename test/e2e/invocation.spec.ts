import { SignalRModule } from '../../src/index.js';
import { gate, InvocationHub } from '../fixtures/invocation.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, nextCall, stopAll } from '../support/client.js';
import { RawSocket, RS } from '../support/raw-socket.js';

describe('invocations', () => {
  let app: TestApp;
  let detailed: TestApp;
  const url = () => app.url('/hubs/invocation');

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [InvocationHub] });
    detailed = await startApp({
      imports: [SignalRModule.forRootAsync({ useFactory: async () => ({ enableDetailedErrors: true }) })],
      providers: [InvocationHub],
    });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
    await detailed.close();
  });

  it('returns a value, awaits a promise, and keeps objects intact', async () => {
    const client = await connect(url());
    await expect(client.invoke('Add', 2, 3)).resolves.toBe(5);
    await expect(client.invoke('AddLater', 4, 5)).resolves.toBe(9);
    const value = { name: 'ada', tags: ['a', 'b'], nested: { n: 1.5, ok: true, none: null } };
    await expect(client.invoke('EchoObject', value)).resolves.toEqual(value);
  });

  it('completes a void method with result null, byte for byte', async () => {
    const raw = await RawSocket.handshaken(url());
    raw.send({ type: 1, invocationId: '7', target: 'DoNothing', arguments: [] });
    expect((await raw.nextFrame()).data.toString()).toBe(`{"type":3,"invocationId":"7","result":null}${RS}`);
    raw.send({ type: 1, invocationId: '8', target: 'ReturnNull', arguments: [] });
    expect((await raw.nextFrame()).data.toString()).toBe(`{"type":3,"invocationId":"8","result":null}${RS}`);
    raw.close();
  });

  it('finds methods case-insensitively and by their wire name', async () => {
    const client = await connect(url());
    await expect(client.invoke('add', 1, 1)).resolves.toBe(2);
    await expect(client.invoke('ADD', 1, 2)).resolves.toBe(3);
    await expect(client.invoke('renamed')).resolves.toBe('renamed');
    await expect(client.invoke('OriginalName')).rejects.toThrow(
      "Failed to invoke 'OriginalName' due to an error on the server. HubException: Method does not exist.",
    );
  });

  it('does not expose hooks, underscore members or unknown names', async () => {
    const client = await connect(url());
    for (const target of ['_notInvocable', 'onConnected', 'constructor', 'Missing']) {
      await expect(client.invoke(target)).rejects.toThrow(`Failed to invoke '${target}' due to an error on the server. HubException: Method does not exist.`);
    }
  });

  it('refuses a wrong argument count, with the detail only when detailed errors are on', async () => {
    const client = await connect(url());
    const plain = await client.invoke('Add', 1).catch((error: Error) => error.message);
    expect(plain).toBe("Failed to invoke 'Add' due to an error on the server.");
    const verbose = await connect(detailed.url('/hubs/invocation'));
    await expect(verbose.invoke('Add', 1, 2, 3)).rejects.toThrow(
      "Failed to invoke 'Add' due to an error on the server. InvalidDataException: Invocation provides 3 argument(s) but target expects 2.",
    );
  });

  it('reports a HubException with its message even without detailed errors', async () => {
    const client = await connect(url());
    await expect(client.invoke('ThrowHubException', 'Room is full')).rejects.toThrow(
      "An unexpected error occurred invoking 'ThrowHubException' on the server. HubException: Room is full",
    );
  });

  it('hides other errors unless detailed errors are on', async () => {
    const client = await connect(url());
    const hidden = await client.invoke('ThrowError', 'secret').catch((error: Error) => error.message);
    expect(hidden).toBe("An unexpected error occurred invoking 'ThrowError' on the server.");
    const verbose = await connect(detailed.url('/hubs/invocation'));
    await expect(verbose.invoke('ThrowError', 'boom')).rejects.toThrow("An unexpected error occurred invoking 'ThrowError' on the server. Error: boom");
    await expect(verbose.invoke('RejectError', 'late')).rejects.toThrow("An unexpected error occurred invoking 'RejectError' on the server. TypeError: late");
  });

  it('answers a non-blocking invocation with nothing, not even an error', async () => {
    const raw = await RawSocket.handshaken(url());
    raw.send(
      { type: 1, target: 'Add', arguments: [1, 2] },
      { type: 1, target: 'ThrowError', arguments: ['x'] },
      { type: 1, target: 'Missing', arguments: [] },
      { type: 1, invocationId: '', target: 'Add', arguments: [1] },
      { type: 1, invocationId: 'last', target: 'Add', arguments: [20, 22] },
    );
    expect(await raw.nextMessages()).toEqual([{ type: 3, invocationId: 'last', result: 42 }]);
    raw.close();
  });

  it('delivers what a method sends before its completion', async () => {
    const client = await connect(url());
    const events: string[] = [];
    client.on('notice', (text: string) => events.push(`notice ${text}`));
    const result = await client.invoke('NotifyThenReturn', 'hello');
    events.push(`result ${result}`);
    expect(events).toEqual(['notice hello', 'result done']);
  });

  it('dispatches one connection sequentially: the next invocation waits for the running one', async () => {
    const hub = app.app.get(InvocationHub);
    hub.order.length = 0;
    const client = await connect(url());
    const entered = gate.whenEntered();
    const slow = client.invoke('Slow', 'a');
    await entered;
    const fast = client.invoke('Fast', 'b');
    gate.release!();
    await expect(Promise.all([slow, fast])).resolves.toEqual(['a', 'b']);
    expect(hub.order).toEqual(['start a', 'end a', 'fast b']);
  });

  it('runs invocations side by side when maximumParallelInvocationsPerClient allows it', async () => {
    const parallel = await startApp({
      imports: [SignalRModule.forRoot({ maximumParallelInvocationsPerClient: 2 })],
      providers: [InvocationHub],
    });
    try {
      const hub = parallel.app.get(InvocationHub);
      const client = await connect(parallel.url('/hubs/invocation'));
      const entered = gate.whenEntered();
      const slow = client.invoke('Slow', 'a');
      await entered;
      await expect(client.invoke('Fast', 'b')).resolves.toBe('b');
      expect(hub.order).toEqual(['start a', 'fast b']);
      gate.release!();
      await expect(slow).resolves.toBe('a');
      expect(hub.order).toEqual(['start a', 'fast b', 'end a']);
    } finally {
      await stopAll();
      await parallel.close();
    }
  });

  it('answers a stream invocation of a plain method with the reference error', async () => {
    const client = await connect(url());
    const error = await new Promise<Error>((resolve) =>
      client.stream('Add', 1, 2).subscribe({ next: () => undefined, complete: () => undefined, error: resolve }),
    );
    expect(error.message).toBe("The client attempted to invoke the non-streaming 'Add' method with a streaming invocation.");
  });

  it('receives client calls with every JSON argument type', async () => {
    const client = await connect(url());
    const call = nextCall(client, 'notice');
    await client.invoke('NotifyThenReturn', 'ünïcödé ✓');
    expect(await call).toEqual(['ünïcödé ✓']);
  });
});
