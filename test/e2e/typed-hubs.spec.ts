import { HttpTransportType, HubConnection, HubConnectionBuilder, ILogger, IStreamResult, LogLevel, Subject } from '@microsoft/signalr';
import { typedConnection } from '../../src/client/index.js';
import { SignalRModule } from '../../src/index.js';
import { ProbeReport, TypedChatHub } from '../fixtures/typed-chat.hub.js';
import { TypedOrdersModule } from '../fixtures/typed-orders.controller.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, nextCall, recordCalls, stopAll } from '../support/client.js';

/** A client whose logger keeps the official client's "No client method with the name '…' found." warnings. */
function clientWithWarnings(url: string): { connection: HubConnection; unhandled: string[] } {
  const unhandled: string[] = [];
  const logger: ILogger = {
    log(level, message) {
      const match = /^No client method with the name '(.*)' found\.$/.exec(message);
      if (level === LogLevel.Warning && match) unhandled.push(match[1]);
    },
  };
  const connection = new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType.WebSockets }).configureLogging(logger).build();
  return { connection, unhandled };
}

describe('typed hubs with the official client', () => {
  let app: TestApp;
  const extra: HubConnection[] = [];

  const post = async (path: string, body: object) => {
    const response = await fetch(app.url(path), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };
  const connectAs = (user: string) => connect(app.url(`/hubs/typed-chat?user=${user}`));

  beforeAll(async () => {
    app = await startApp({
      imports: [SignalRModule.forRoot({ authenticate: (request) => ({ sub: request.query.get('user') ?? 'nobody' }) }), TypedOrdersModule],
      providers: [TypedChatHub],
    });
  });
  afterAll(async () => {
    await Promise.all(extra.map((connection) => connection.stop()));
    await stopAll();
    await app.close();
  });

  it('a typed call in a hub method sends the method by its name with its arguments, matched case-insensitively', async () => {
    const ada = typedConnection<TypedChatHub>(await connectAs('ada'));
    const bob = await connectAs('bob');
    const toAda = new Promise<[string, string]>((resolve) => ada.on('receiveMessage', (user, text) => resolve([user, text])));
    const toBob = nextCall(bob, 'RECEIVEMESSAGE');
    await ada.invoke('say', 'hello');
    expect(await toAda).toEqual(['ada', 'hello']);
    expect(await toBob).toEqual(['ada', 'hello']);
  });

  it('typed calls to othersInGroup, caller and group reach exactly their targets, and typed invoke returns the result', async () => {
    const ada = typedConnection<TypedChatHub>(await connectAs('ada'));
    const bob = typedConnection<TypedChatHub>(await connectAs('bob'));
    const outsider = await connectAs('eve');
    const adaJoins = recordCalls(ada.connection, 'userJoined');
    const bobJoins = recordCalls(bob.connection, 'userJoined');
    const outsiderMessages = recordCalls(outsider, 'receiveMessage');

    const length: number = await ada.invoke('join', 'lobby');
    expect(length).toBe(5);
    const bobHears = nextCall(bob.connection, 'userJoined');
    expect(await bob.invoke('join', 'lobby')).toBe(5);
    expect(await bobHears).toEqual(['lobby', 'you']);

    const adaRoom = nextCall(ada.connection, 'receiveMessage');
    const bobRoom = nextCall(bob.connection, 'receiveMessage');
    await ada.invoke('tellRoom', 'lobby', 'room news');
    expect(await adaRoom).toEqual(['room', 'room news']);
    expect(await bobRoom).toEqual(['room', 'room news']);
    // Invocations complete after their sends are queued, and each connection's messages keep their order.
    expect(adaJoins).toEqual([
      ['lobby', 'you'],
      ['lobby', 'bob'],
    ]);
    expect(bobJoins).toEqual([['lobby', 'you']]);
    const barrier = nextCall(outsider, 'receiveMessage');
    await ada.invoke('say', 'barrier');
    await barrier;
    expect(outsiderMessages).toEqual([['ada', 'barrier']]);
  });

  it('send(method, ...args) still works on a typed hub, for interface methods and any other name', async () => {
    const { connection, unhandled } = clientWithWarnings(app.url('/hubs/typed-chat?user=ada'));
    extra.push(connection);
    await connection.start();
    const received = nextCall(connection, 'receiveMessage');
    await connection.invoke('legacy', 'old style');
    expect(await received).toEqual(['legacy', 'old style']);
    // The second send names a method the client has no handler for; the official client says so, and
    // (handling messages in order) before the invocation's completion.
    expect(unhandled).toEqual(['notintheinterface']);
  });

  it('awaiting and inspecting a proxy sends nothing: then and toJSON are undefined, symbols are left alone', async () => {
    const { connection, unhandled } = clientWithWarnings(app.url('/hubs/typed-chat?user=ada'));
    extra.push(connection);
    await connection.start();
    const report = nextCall(connection, 'probed');
    await connection.invoke('probe');
    const expected: ProbeReport = {
      awaitedIsProxy: true,
      then: 'undefined',
      toJSON: 'undefined',
      json: '{}',
      string: '[object Object]',
      toPrimitive: 'undefined',
      iterator: 'undefined',
      keys: [],
      typedCallIsFunction: true,
    };
    expect(await report).toEqual([expected]);
    // The client handles messages in order: anything the probe sent has been handled by the time the
    // probe's own reply arrived, and the barrier rules out anything sent after it.
    const barrier = nextCall(connection, 'receiveMessage');
    await connection.invoke('say', 'after-probe');
    await barrier;
    expect(unhandled).toEqual([]);
  });

  it('typed calls through HubContext in a controller: the client interface inferred from the hub, or given explicitly', async () => {
    const ada = typedConnection<TypedChatHub>(await connectAs('ada'));
    const bob = typedConnection<TypedChatHub>(await connectAs('bob'));
    await ada.invoke('join', 'orders');
    const adaShipped = recordCalls(ada.connection, 'orderShipped');
    const bobShipped = recordCalls(bob.connection, 'orderShipped');
    const adaGets = nextCall(ada.connection, 'orderShipped');

    expect(await post('/typed-orders/7/ship', { group: 'orders', carrier: 'ups' })).toEqual({ status: 201, body: { shipped: 7 } });
    expect(await adaGets).toEqual([7, 'ups']);

    const bobNotified = nextCall(bob.connection, 'receiveMessage');
    expect(await post('/typed-orders/notify', { user: 'bob', text: 'your order' })).toEqual({ status: 201, body: { sent: true } });
    expect(await bobNotified).toEqual(['system', 'your order']);

    const adaAnnounced = nextCall(ada.connection, 'receiveMessage');
    const bobAnnounced = nextCall(bob.connection, 'receiveMessage');
    expect(await post('/typed-orders/announce', { text: 'closing soon' })).toEqual({ status: 201, body: { sent: true } });
    expect(await adaAnnounced).toEqual(['announcer', 'closing soon']);
    expect(await bobAnnounced).toEqual(['announcer', 'closing soon']);
    expect(adaShipped).toEqual([[7, 'ups']]);
    expect(bobShipped).toEqual([]);
  });

  it('the typed client helper sends, registers and removes handlers on the official client', async () => {
    const ada = typedConnection<TypedChatHub>(await connectAs('ada'));
    const kept: string[] = [];
    const removed: string[] = [];
    const keep = (_user: string, text: string) => void kept.push(text);
    const remove = (_user: string, text: string) => void removed.push(text);
    ada.on('receiveMessage', keep);
    ada.on('receiveMessage', remove);

    const first = nextCall(ada.connection, 'receiveMessage');
    await ada.send('say', 'one');
    await first;
    ada.off('receiveMessage', remove);
    const second = nextCall(ada.connection, 'receiveMessage');
    await ada.invoke('say', 'two');
    await second;
    ada.off('receiveMessage');
    const third = nextCall(ada.connection, 'receiveMessage');
    await ada.invoke('say', 'three');
    await third;
    expect(kept).toEqual(['one', 'two']);
    expect(removed).toEqual(['one']);
  });

  it('the typed client helper streams the items of a hub method and uploads a Subject through the official client', async () => {
    const ada = typedConnection<TypedChatHub>(await connectAs('ada'));
    const collect = <T>(stream: IStreamResult<T>) =>
      new Promise<T[]>((resolve, reject) => {
        const items: T[] = [];
        stream.subscribe({ next: (item) => void items.push(item), error: reject, complete: () => resolve(items) });
      });

    const lines: string[] = await collect(ada.stream('history', 'lobby', 3));
    expect(lines).toEqual(['lobby #1', 'lobby #2', 'lobby #3']);

    const words = new Subject<string>();
    const shouted = collect(ada.stream('shout', '> ', words));
    words.next('hello');
    words.next('typed');
    words.complete();
    expect(await shouted).toEqual(['> HELLO', '> TYPED']);
  });
});
