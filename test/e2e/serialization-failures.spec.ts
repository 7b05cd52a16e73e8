import { HttpTransportType, HubConnection, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import type { LoggerService } from '@nestjs/common';
import { getHubContextToken, HubContext, SignalRModule } from '../../src/index.js';
import { SerializationDetailedHub, SerializationHub, SerializationStrictHub, Unserializable, unserializable } from '../fixtures/serialization-failures.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { recordCalls, stopAll } from '../support/client.js';
import { ClientCausedLogs } from '../../src/logging/rate-limited-log.js';

/** Each test asserts its own log lines: the process-wide limit on client-caused lines starts afresh. */
beforeEach(() => Object.values(ClientCausedLogs).forEach((log) => log.endWindow()));

/*
 * Values a hub protocol cannot write (finding 5 of issue 13): a BigInt, a cycle, a 6000-deep array, a
 * throwing toJSON. Before, a result like that got no Completion (the caller's invoke never settled)
 * and the server logged a stack; now every caller hears of it and the server logs one warning.
 */

const STRICT = '/hubs/serialization';
const DETAILED = '/hubs/serialization/detailed';
type ProtocolName = 'json' | 'messagepack';
const PROTOCOLS: ProtocolName[] = ['json', 'messagepack'];
const KINDS: Unserializable[] = ['bigint', 'circular', 'deep', 'toJSON'];

/** What each protocol's encoder throws for each value, as `Type: message` (the detail clients see). */
const DETAIL: Record<ProtocolName, Record<Unserializable, string>> = {
  json: {
    bigint: 'TypeError: Do not know how to serialize a BigInt',
    circular:
      "TypeError: Converting circular structure to JSON\n    --> starting at object with constructor 'Object'\n    --- property 'self' closes the circle",
    deep: 'RangeError: Maximum call stack size exceeded',
    toJSON: 'Error: toJSON refused',
  },
  messagepack: {
    bigint: 'Error: Unrecognized object: [object BigInt]',
    circular: 'Error: Too deep objects in depth 501',
    deep: 'Error: Too deep objects in depth 501',
    toJSON: 'Error: Unrecognized object: [object Function]',
  },
};
/** Log lines keep the first line of a detail only. */
const firstLine = (text: string) => text.split('\n')[0];
const INVOKE_FAILED = (method: string) => `An unexpected error occurred invoking '${method}' on the server.`;
const STREAM_FAILED = 'An error occurred on the server while streaming results.';

/** Warnings and errors, as `level context: message`. */
const logs: string[] = [];
function lineLogger(lines: string[]): LoggerService {
  const push =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) =>
      lines.push(`${level} ${String(rest[rest.length - 1])}: ${String(message)}`);
  return { log: () => undefined, warn: push('warn'), error: push('error'), fatal: push('fatal'), debug: () => undefined, verbose: () => undefined };
}

let app: TestApp;
const clients = new Set<HubConnection>();

async function open(protocol: ProtocolName, path: string): Promise<HubConnection> {
  const builder = new HubConnectionBuilder().withUrl(app.url(path), { transport: HttpTransportType.WebSockets }).configureLogging(LogLevel.None);
  if (protocol === 'messagepack') builder.withHubProtocol(new MessagePackHubProtocol());
  const connection = builder.build();
  clients.add(connection);
  await connection.start();
  return connection;
}

/** The connection still answers, and nothing else was logged than `expected`. */
async function expectUsableAndLogged(connection: HubConnection, expected: string[]): Promise<void> {
  await expect(connection.invoke('Echo', 'after')).resolves.toBe('after');
  expect(logs).toEqual(expected);
}

beforeAll(async () => {
  app = await startApp({ imports: [SignalRModule.forRoot()], providers: [SerializationStrictHub, SerializationDetailedHub] }, (nest) => {
    nest.useLogger(lineLogger(logs));
  });
});
beforeEach(() => {
  logs.length = 0;
});
afterAll(async () => {
  await Promise.all([...clients].map((connection) => connection.stop()));
  await stopAll();
  await app.close();
});

describe.each(PROTOCOLS)('%s', (protocol) => {
  describe.each(KINDS)('a %s value', (kind) => {
    const detail = DETAIL[protocol][kind];

    it('as a result: an error Completion with the generic text, one warning', async () => {
      const client = await open(protocol, STRICT);
      await expect(client.invoke('Result', kind)).rejects.toThrow(new Error(INVOKE_FAILED('Result')));
      await expectUsableAndLogged(client, [
        `warn SignalR:SerializationStrictHub: The result of hub method 'Result' could not be serialized. ${firstLine(detail)}`,
      ]);
    });

    it('as an async result with detailed errors: the text carries the encoder error', async () => {
      const client = await open(protocol, DETAILED);
      await expect(client.invoke('ResultLater', kind)).rejects.toThrow(new Error(`${INVOKE_FAILED('ResultLater')} ${detail}`));
      await expectUsableAndLogged(client, [
        `warn SignalR:SerializationDetailedHub: The result of hub method 'ResultLater' could not be serialized. ${firstLine(detail)}`,
      ]);
    });

    it('as a stream item: the items before it, then an error Completion; the generator is closed', async () => {
      const client = await open(protocol, DETAILED);
      const label = `${protocol}-${kind}-generator`;
      const items: unknown[] = [];
      const ended = new Promise<Error>((resolve, reject) =>
        client.stream('Items', kind, label).subscribe({ next: (item) => items.push(item), error: resolve, complete: () => reject(new Error('completed')) }),
      );
      expect((await ended).message).toBe(`${STREAM_FAILED} ${detail}`);
      expect(items).toEqual(['first']);
      expect(SerializationHub.closedStreams).toContain(label);
      // the official client numbers its invocations from 0 on each connection
      await expectUsableAndLogged(client, [
        `warn SignalR:SerializationDetailedHub: An item of stream '0' could not be serialized; the stream ends with an error. ${firstLine(detail)}`,
      ]);
    });

    it('as the argument of a client-result call: the call rejects for the hub code, the client gets nothing', async () => {
      const client = await open(protocol, STRICT);
      const asked = recordCalls(client, 'ask');
      await expect(client.invoke('AskWith', kind)).resolves.toBe(detail);
      await expectUsableAndLogged(client, [
        `warn SignalR:ClientResults: The arguments of client method 'ask' could not be serialized with the ${protocol} protocol; its recipients do not get the call. ${firstLine(detail)}`,
      ]);
      expect(asked).toEqual([]);
    });

    it('as the argument of a HubContext send to a group: the send rejects with the encoder error', async () => {
      const client = await open(protocol, STRICT);
      const group = `${protocol}-${kind}`;
      await client.invoke('Join', group);
      const received = recordCalls(client, 'receive');
      const context = app.app.get<HubContext<SerializationStrictHub>>(getHubContextToken(SerializationStrictHub));
      const sent = context.clients.group(group).send('receive', unserializable(kind));
      const error = await sent.then(
        () => null,
        (reason: Error) => reason,
      );
      expect(error === null ? 'resolved' : `${error.name}: ${error.message}`).toBe(detail);
      await context.clients.group(group).send('receive', 'next');
      await expectUsableAndLogged(client, [
        `warn SignalR:HubLifetimeManager: The arguments of client method 'receive' could not be serialized with the ${protocol} protocol; its recipients do not get the call. ${firstLine(detail)}`,
      ]);
      expect(received).toEqual([['next']]);
    });
  });

  it('as an item of an Observable stream: an error Completion, the Observable unsubscribed', async () => {
    const client = await open(protocol, STRICT);
    const label = `${protocol}-observable`;
    const items: unknown[] = [];
    const ended = new Promise<Error>((resolve, reject) =>
      client
        .stream('ItemsObservable', 'bigint', label)
        .subscribe({ next: (item) => items.push(item), error: resolve, complete: () => reject(new Error('completed')) }),
    );
    expect((await ended).message).toBe(STREAM_FAILED);
    expect(items).toEqual(['first']);
    expect(SerializationHub.closedStreams).toContain(label);
    await expectUsableAndLogged(client, [
      `warn SignalR:SerializationStrictHub: An item of stream '0' could not be serialized; the stream ends with an error. ${DETAIL[protocol].bigint}`,
    ]);
  });
});

it('sends to the recipients whose protocol can write the arguments, and rejects for the others', async () => {
  const json = await open('json', STRICT);
  const msgpack = await open('messagepack', STRICT);
  await json.invoke('Join', 'mixed');
  await msgpack.invoke('Join', 'mixed');
  const jsonCalls = recordCalls(json, 'receive');
  const msgpackCalls = recordCalls(msgpack, 'receive');
  const context = app.app.get<HubContext<SerializationStrictHub>>(getHubContextToken(SerializationStrictHub));
  // JSON leaves a function out; MessagePack cannot write one
  const sent = context.clients.group('mixed').send('receive', { text: 'hi', callback: () => 1 });
  await expect(sent).rejects.toThrow(new Error('Unrecognized object: [object Function]'));
  await context.clients.group('mixed').send('receive', 'next');
  await expectUsableAndLogged(json, [
    "warn SignalR:HubLifetimeManager: The arguments of client method 'receive' could not be serialized with the messagepack protocol; its recipients do not get the call. Error: Unrecognized object: [object Function]",
  ]);
  await expect(msgpack.invoke('Echo', 'after')).resolves.toBe('after');
  expect(jsonCalls).toEqual([[{ text: 'hi' }], ['next']]);
  expect(msgpackCalls).toEqual([['next']]);
});
