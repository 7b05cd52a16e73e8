import type { HubConnection } from '@microsoft/signalr';
import { Subject } from 'rxjs';
import { closedWith, outcome, startConformanceApp, startedClient, stopClients, VARIANTS, hubClient } from '../conformance/official-client.js';
import type { TestApp } from '../support/app.js';
import { RawSocket } from '../support/raw-socket.js';

/**
 * The conformance app's TestHub (section 8.2 of the protocol reference), driven with the official
 * client on every transport and protocol it supports, as ASP.NET Core's HubConnectionTests do,
 * with the exact texts they expect.
 */
describe('Conformance app: /testhub with the official client', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startConformanceApp();
  });
  afterAll(async () => {
    await stopClients();
    await app.close();
  });

  describe.each(VARIANTS)('$name', (variant) => {
    let connection: HubConnection;
    const message = '你好，世界！';

    beforeAll(async () => {
      connection = await startedClient(app.url('/testhub'), variant);
    });

    it('Echo returns its argument, by invoke and after a send', async () => {
      expect(await connection.invoke('Echo', message)).toBe(message);
      await connection.send('Echo', message);
      expect(await connection.invoke('echo', '')).toBe('');
    });

    it('GetCallerConnectionId is the id negotiate gave the client', async () => {
      expect(await connection.invoke('GetCallerConnectionId')).toBe(connection.connectionId);
    });

    it('GetActiveTransportName names the transport', async () => {
      expect(await connection.invoke('GetActiveTransportName')).toBe(variant.transportName);
    });

    it('InvokeWithString calls the client method Message (client names match case-insensitively) and completes with null', async () => {
      const received = new Promise<unknown[]>((resolve) => connection.on('mEssage', (...args: unknown[]) => resolve(args)));
      expect(await connection.invoke('InvokeWithString', '你好 SignalR！')).toBeNull();
      expect(await received).toEqual(['你好 SignalR！']);
      connection.off('mEssage');
      expect(await connection.invoke('invokeWithString', 'lower')).toBeNull();
    });

    it('SendCustomObject sends CustomObject back with PascalCase keys', async () => {
      const received = new Promise<unknown>((resolve) => connection.on('CustomObject', (value: unknown) => resolve(value)));
      await connection.send('SendCustomObject', { Name: 'test', Value: 42 });
      const value = (await received) as Record<string, unknown>;
      expect(Object.keys(value)).toEqual(['Name', 'Value']);
      expect(value).toEqual({ Name: 'test', Value: 42 });
      connection.off('CustomObject');
    });

    it('Stream yields a, b, c and completes', async () => {
      const items: string[] = [];
      await new Promise<void>((resolve, reject) =>
        connection.stream<string>('Stream').subscribe({ next: (item) => items.push(item), complete: resolve, error: reject }),
      );
      expect(items).toEqual(['a', 'b', 'c']);
    });

    it('InfiniteStream, cancelled by the client, calls StreamCanceled on it', async () => {
      const canceled = new Promise<unknown[]>((resolve) => connection.on('StreamCanceled', (...args: unknown[]) => resolve(args)));
      const items: unknown[] = [];
      const subscription = connection
        .stream('InfiniteStream')
        .subscribe({ next: (item) => items.push(item), complete: () => undefined, error: () => undefined });
      // An ordinary invocation after the stream started: the server has seen the StreamInvocation.
      expect(await connection.invoke('Echo', 'after stream')).toBe('after stream');
      subscription.dispose();
      expect(await canceled).toEqual([]);
      expect(items).toEqual([]);
      connection.off('StreamCanceled');
    });

    it('ThrowException reaches the client with the .NET exception type (detailed errors)', async () => {
      expect(await outcome(connection.invoke('ThrowException', 'An error occurred.'))).toBe(
        "An unexpected error occurred invoking 'ThrowException' on the server. InvalidOperationException: An error occurred.",
      );
    });

    it('invoke on a streaming method is refused with the reference text', async () => {
      expect(await outcome(connection.invoke('EmptyStream'))).toBe(
        "The client attempted to invoke the streaming 'EmptyStream' method with a non-streaming invocation.",
      );
      expect(await outcome(connection.invoke('Stream'))).toBe("The client attempted to invoke the streaming 'Stream' method with a non-streaming invocation.");
    });

    it('stream on a plain method, and a stream that throws before starting, fail with the reference texts', async () => {
      const streamError = (method: string, ...args: unknown[]) =>
        new Promise<string>((resolve) =>
          connection.stream(method, ...args).subscribe({
            next: () => resolve('unexpected item'),
            complete: () => resolve('unexpected completion'),
            error: (error: Error) => resolve(error.message),
          }),
        );
      expect(await streamError('Echo', '42')).toBe("The client attempted to invoke the non-streaming 'Echo' method with a streaming invocation.");
      expect(await streamError('StreamThrowException', 'An error occurred.')).toBe(
        "An unexpected error occurred invoking 'StreamThrowException' on the server. InvalidOperationException: An error occurred.",
      );
    });

    it('EmptyStream completes with no items', async () => {
      const items: unknown[] = [];
      await new Promise<void>((resolve, reject) =>
        connection.stream('EmptyStream').subscribe({ next: (item) => items.push(item), complete: resolve, error: reject }),
      );
      expect(items).toEqual([]);
    });

    it('StreamingConcat joins an upload; an upload ended with an error fails with the HubException text', async () => {
      const upload = new Subject<string>();
      const result = connection.invoke<string>('StreamingConcat', upload);
      upload.next('Hello ');
      upload.next('world');
      upload.next('!');
      upload.complete();
      expect(await result).toBe('Hello world!');

      const failing = new Subject<string>();
      const failed = outcome(connection.invoke<string>('StreamingConcat', failing));
      failing.next('Hello ');
      failing.error(new Error('Something bad'));
      expect(await failed).toBe("An unexpected error occurred invoking 'StreamingConcat' on the server. HubException: Something bad");
    });

    const bytes = (value: unknown) => (value instanceof Uint8Array ? [...value] : value);

    it('EchoComplexObject returns the object with the protocol’s types (base64 and ISO text, or bin and timestamp)', async () => {
      const sent =
        variant.protocolName === 'json'
          ? {
              String: 'Hello, World!',
              IntArray: [1, 2, 3, 255],
              ByteArray: 'aGVsbG8=',
              Guid: '00010203-0405-0607-0706-050403020100',
              DateTime: '2002-04-01T10:20:15Z',
            }
          : {
              String: 'Hello, World!',
              IntArray: [1, 2, 3, 255],
              ByteArray: new Uint8Array([0x68, 0x65, 0x6c, 0x6c, 0x6f]),
              Guid: '00010203-0405-0607-0706-050403020100',
              DateTime: new Date(Date.UTC(2002, 3, 1, 10, 20, 15)),
            };
      const value = await connection.invoke<Record<string, unknown>>('EchoComplexObject', sent);
      expect(Object.keys(value)).toEqual(['String', 'IntArray', 'ByteArray', 'Guid', 'DateTime']);
      if (variant.protocolName === 'json') {
        expect(value).toEqual(sent);
      } else {
        expect(value.ByteArray).toBeInstanceOf(Uint8Array);
        expect(value.DateTime).toBeInstanceOf(Date);
        expect({ ...value, ByteArray: bytes(value.ByteArray) }).toEqual({ ...sent, ByteArray: [0x68, 0x65, 0x6c, 0x6c, 0x6f] });
      }
    });

    it('SendComplexObject returns the server’s object with the protocol’s types', async () => {
      const value = await connection.invoke<Record<string, unknown>>('SendComplexObject');
      expect(Object.keys(value)).toEqual(['String', 'IntArray', 'ByteArray', 'Guid', 'DateTime']);
      const common = { String: 'hello world', IntArray: [1, 2, 3], Guid: '00010203-0405-0607-0706-050403020100' };
      if (variant.protocolName === 'json') {
        expect(value).toEqual({ ...common, ByteArray: 'AQID', DateTime: '2000-01-01T00:00:00Z' });
      } else {
        expect(value.ByteArray).toBeInstanceOf(Uint8Array);
        expect(value.DateTime).toBeInstanceOf(Date);
        expect({ ...value, ByteArray: bytes(value.ByteArray) }).toEqual({ ...common, ByteArray: [1, 2, 3], DateTime: new Date(Date.UTC(2000, 0, 1)) });
      }
    });

    it('GetCookie sees the cookies negotiate set, but not the expired one', async () => {
      expect(await connection.invoke('GetCookie', 'testCookie')).toBe('testValue');
      expect(await connection.invoke('GetCookie', 'testCookie2')).toBe('testValue2');
      expect(await connection.invoke('GetCookie', 'expiredCookie')).toBeNull();
    });

    it('an unknown method fails with the reference text', async () => {
      expect(await outcome(connection.invoke('NoSuchMethod'))).toBe(
        "Failed to invoke 'NoSuchMethod' due to an error on the server. HubException: Method does not exist.",
      );
    });

    it('can be stopped and restarted, keeping its handlers', async () => {
      const client = hubClient(app.url('/testhub'), variant);
      const calls: unknown[] = [];
      client.on('Message', (text: unknown) => calls.push(text));
      for (const round of [1, 2]) {
        await client.start();
        expect(await client.invoke('InvokeWithString', `round ${round}`)).toBeNull();
        expect(await client.invoke('Echo', message)).toBe(message);
        const ended = closedWith(client);
        await client.stop();
        expect(await ended).toBeUndefined();
      }
      expect(calls).toEqual(['round 1', 'round 2']);
    });

    it('/uncreatable closes the connection with the .NET activation error', async () => {
      const client = hubClient(app.url('/uncreatable'), variant);
      const ended = closedWith(client);
      let error: Error | undefined;
      try {
        await client.start();
        error = await ended;
      } catch (startError) {
        error = startError as Error;
      }
      expect(error?.message).toBe(
        "Server returned an error on close: Connection closed with an error. InvalidOperationException: Unable to resolve service for type 'System.Object' while attempting to activate 'FunctionalTests.UncreatableHub'.",
      );
    });
  });

  it('EchoComplexObject writes .NET’s exact JSON (raw frames: the client cannot show bytes)', async () => {
    const raw = await RawSocket.handshaken(app.url('/testhub'));
    const object =
      '{"String":"Hello, World!","IntArray":[1,2,3,255],"ByteArray":"aGVsbG8=","Guid":"00010203-0405-0607-0706-050403020100","DateTime":"2002-04-01T10:20:15Z"}';
    raw.sendText(`{"type":1,"invocationId":"1","target":"EchoComplexObject","arguments":[${object}]}\u001e`);
    expect((await raw.nextFrame()).data.toString()).toBe(`{"type":3,"invocationId":"1","result":${object}}\u001e`);
    raw.sendText('{"type":1,"invocationId":"2","target":"SendComplexObject","arguments":[]}\u001e');
    expect((await raw.nextFrame()).data.toString()).toBe(
      '{"type":3,"invocationId":"2","result":{"String":"hello world","IntArray":[1,2,3],"ByteArray":"AQID","Guid":"00010203-0405-0607-0706-050403020100","DateTime":"2000-01-01T00:00:00Z"}}\u001e',
    );
    raw.socket.close();
  });
});
