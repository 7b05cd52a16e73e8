import { readFileSync } from 'fs';
import { join } from 'path';
import { inspect } from 'util';
import * as ts from 'typescript';
import { Subject, type HubConnection, type IStreamResult } from '@microsoft/signalr';
import { Observable } from 'rxjs';
import type { HubConnection as HubConnection8 } from 'signalr-8';
import type { HubConnection as AspNetHubConnection } from '@aspnet/signalr';
import { typedConnection, type ServerMethodName, type ServerMethods, type ServerStreamName } from '../../src/client/index.js';
import { TargetedClientProxy } from '../../src/clients/client-proxy.js';
import { HubCallerClients, HubClients } from '../../src/clients/hub-clients.js';
import { ClientOf, Hub, HubContext, HubLifetimeManager, HubTarget, TypedClientProxy, TypedHubContext } from '../../src/index.js';

/*
 * Type-level checks: `npm test` runs `tsc --noEmit` over test/, so every `@ts-expect-error` below must
 * meet an error and every other line must compile. The functions are never called.
 */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

interface ChatClient {
  receiveMessage(user: string, text: string): void;
  userJoined(room: string): Promise<void>;
  typing?(user: string): void;
  readonly version: number;
}
interface OrdersClient {
  orderShipped(orderId: number): void;
}

class ChatHub extends Hub<ChatClient> {
  async say(text: string): Promise<void> {
    await this.clients.all.receiveMessage('ada', text);
  }
  async join(room: string): Promise<number> {
    await this.clients.caller.userJoined(room);
    return room.length;
  }
  history(count: number, before?: string): string[] {
    return [String(count), before ?? ''];
  }
  onConnected(): void {}
  onDisconnected(_error?: Error): void {}
  onModuleInit(): void {}
  _helper(): void {}
  private secret(): void {}
  protected guarded(): void {}
  readonly label = 'chat';
}
class FeedHub extends Hub {
  ticks(count: number): Observable<number> {
    return new Observable<number>((subscriber) => subscriber.next(count));
  }
  async *lines(room: string, limit?: number): AsyncGenerator<string> {
    yield `${room}${limit ?? ''}`;
  }
  async later(): Promise<AsyncIterable<Date>> {
    return (async function* () {})();
  }
  async sum(label: string, values: AsyncIterable<number>): Promise<string> {
    for await (const value of values) label += value;
    return label;
  }
  async *relay(values: AsyncIterable<string>): AsyncGenerator<string> {
    yield* values;
  }
  plain(): number[] {
    return [1];
  }
}
class PlainHub extends Hub {
  ping(): string {
    return 'pong';
  }
}

export function hubTypeChecks(hub: ChatHub, plain: PlainHub): void {
  const clients = hub.clients;
  assertType<Equal<ReturnType<typeof clients.all.receiveMessage>, Promise<void>>>();
  assertType<Equal<Parameters<typeof clients.all.receiveMessage>, [user: string, text: string]>>();
  void clients.caller.userJoined('lobby');
  void clients.others.receiveMessage('ada', 'hi');
  void clients.group('g').receiveMessage('ada', 'hi');
  void clients.groups(['a', 'b']).userJoined('a');
  void clients.groupExcept('g', ['id']).userJoined('g');
  void clients.othersInGroup('g').typing('ada'); // optional methods are callable
  void clients.client('id').userJoined('g');
  void clients.clients(['id']).userJoined('g');
  void clients.allExcept(['id']).userJoined('g');
  void clients.user('u').receiveMessage('a', 'b');
  void clients.users(['u']).receiveMessage('a', 'b');
  void clients.all.send('anything', 1, { x: 2 }); // the untyped call stays
  // @ts-expect-error wrong argument type
  void clients.all.receiveMessage('ada', 42);
  // @ts-expect-error missing argument
  void clients.caller.receiveMessage('ada');
  // @ts-expect-error too many arguments
  void clients.group('g').userJoined('g', 'extra');
  // @ts-expect-error not in the interface
  void clients.all.orderShipped(1);
  // @ts-expect-error a property, not a method
  void clients.all.version;
  // @ts-expect-error then is never a client call
  void clients.all.then;

  // An untyped hub offers send only.
  void plain.clients.all.send('anything');
  // @ts-expect-error no client interface, no typed calls
  void plain.clients.all.receiveMessage('ada', 'hi');
  assertType<Equal<ClientOf<PlainHub>, any>>();
  assertType<Equal<ClientOf<ChatHub>, ChatClient>>();
}

export function contextTypeChecks(
  chat: HubContext<ChatHub>,
  explicit: TypedHubContext<OrdersClient>,
  both: HubContext<ChatHub, OrdersClient>,
  untyped: HubContext,
  plain: HubContext<PlainHub>,
): void {
  void chat.clients.group('g').receiveMessage('ada', 'hi');
  void explicit.clients.all.orderShipped(7);
  void both.clients.user('u').orderShipped(7);
  void untyped.clients.all.send('x');
  void chat.clients.all.send('x');
  // @ts-expect-error the client interface comes from the hub
  void chat.clients.group('g').orderShipped(7);
  // @ts-expect-error wrong argument type
  void explicit.clients.all.orderShipped('7');
  // @ts-expect-error no client interface
  void untyped.clients.all.receiveMessage('a', 'b');
  // @ts-expect-error a hub that extends plain Hub has none either
  void plain.clients.all.receiveMessage('a', 'b');
  // @ts-expect-error no caller outside hubs
  void chat.clients.caller;
  const widened: HubContext = chat; // a typed context still goes where an untyped one is expected
  void widened;
}

interface ClashingClient {
  send(text: string): void;
  ok(): void;
}
export function reservedNameChecks(clients: HubClients<ClashingClient>, withToString: HubClients<{ toString(): void; ok(): void }>): void {
  // @ts-expect-error the proxy of a clashing interface offers nothing, and says why
  void clients.all.ok();
  // @ts-expect-error not even send, which would silently send a method named after its first argument
  void clients.all.send('hello');
  // @ts-expect-error Object.prototype's names are reserved too
  void withToString.all.ok();
  type Proxy = TypedClientProxy<ClashingClient>;
  assertType<Equal<keyof Proxy, "A client interface cannot declare 'send': typed proxies reserve that name (call it with send('send', ...))">>();
}
// @ts-expect-error Hub<T> refuses a client interface with a reserved name where it is declared
export class ClashingHub extends Hub<ClashingClient> {}

export function clientHelperTypeChecks(connection: HubConnection, connection8: HubConnection8, aspnet: AspNetHubConnection): void {
  assertType<Equal<ServerMethodName<ChatHub>, 'say' | 'join' | 'history'>>();
  assertType<Equal<ServerMethods<ChatHub>['join'], (room: string) => Promise<number>>>();
  assertType<Equal<ServerMethods<ChatHub>['history'], (count: number, before?: string) => Promise<string[]>>>();

  const chat = typedConnection<ChatHub>(connection);
  const count: Promise<number> = chat.invoke('join', 'lobby');
  const lines: Promise<string[]> = chat.invoke('history', 10);
  void chat.invoke('history', 10, 'yesterday');
  const sent: Promise<void> = chat.send('say', 'hi');
  void [count, lines, sent];
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- `typeof` is the use: the inferred parameter types are checked
  chat.on('receiveMessage', (user, text) => {
    assertType<Equal<[typeof user, typeof text], [string, string]>>();
  });
  chat.on('typing', (user) => void user.toUpperCase());
  chat.off('receiveMessage');
  void chat.connection.start(); // the official connection, with its whole API
  // @ts-expect-error wrong argument type
  void chat.invoke('join', 1);
  // @ts-expect-error missing argument
  void chat.invoke('say');
  // @ts-expect-error lifecycle hooks are not hub methods
  void chat.invoke('onConnected');
  // @ts-expect-error Nest hooks neither
  void chat.invoke('onModuleInit');
  // @ts-expect-error _-prefixed names neither
  void chat.send('_helper');
  // @ts-expect-error private methods neither
  void chat.invoke('secret');
  // @ts-expect-error protected methods neither
  void chat.invoke('guarded');
  // @ts-expect-error fields neither
  void chat.invoke('label');
  // @ts-expect-error Hub's members neither
  void chat.invoke('clients');
  // @ts-expect-error the handler's parameters come from the client interface
  chat.on('receiveMessage', (user: number) => void user);
  // @ts-expect-error a method the client interface does not declare
  chat.on('orderShipped', () => undefined);

  // Explicit interfaces instead of the hub class, and an untyped client.
  const orders = typedConnection<{ ship(id: number): Promise<boolean> }, OrdersClient>(connection);
  const shipped: Promise<boolean> = orders.invoke('ship', 7);
  orders.on('orderShipped', (id) => void id.toFixed());
  void shipped;
  const plain = typedConnection<PlainHub>(connection);
  const pong: Promise<string> = plain.invoke('ping');
  plain.on('anything', (...args: unknown[]) => void args);
  void pong;

  // Streams: only streaming methods, items typed from AsyncIterable, async generators and Observables.
  const feed = typedConnection<FeedHub>(connection);
  assertType<Equal<ServerStreamName<FeedHub>, 'ticks' | 'lines' | 'later' | 'relay'>>();
  const ticks: IStreamResult<number> = feed.stream('ticks', 3);
  void feed.stream('lines', 'lobby').subscribe({
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- `typeof` is the use, as above
    next: (line) => assertType<Equal<typeof line, string>>(),
    error: () => undefined,
    complete: () => undefined,
  });
  void feed.stream('lines', 'lobby', 5);
  const dates: IStreamResult<Date> = feed.stream('later');
  void [ticks, dates];
  // Upload streams take the official client's Subject of the parameter's item type, in invoke, send and stream.
  const numbers = new Subject<number>();
  const sum: Promise<string> = feed.invoke('sum', 'total', numbers);
  void feed.send('sum', 'total', numbers);
  const relayed: IStreamResult<string> = feed.stream('relay', new Subject<string>());
  void [sum, relayed];
  // @ts-expect-error an upload of the wrong item type
  void feed.invoke('sum', 'total', new Subject<string>());
  // @ts-expect-error an AsyncIterable is not what the client uploads
  void feed.stream('relay', (async function* () {})());
  // @ts-expect-error a method that does not stream
  void feed.stream('plain');
  // @ts-expect-error nor one whose result is a promise of a plain value
  void feed.stream('sum', 'total', numbers);
  // @ts-expect-error wrong argument type
  void feed.stream('ticks', '3');
  // @ts-expect-error missing argument
  void feed.stream('lines');
  // @ts-expect-error items keep their type
  void feed.stream('ticks', 1).subscribe({ next: (value: string) => void value, error: () => undefined, complete: () => undefined });

  // Other versions of the official client, named as the third type argument.
  void typedConnection<ChatHub, ChatClient, HubConnection8>(connection8).invoke('join', 'lobby');
  void typedConnection<ChatHub, ChatClient, AspNetHubConnection>(aspnet).invoke('join', 'lobby');
  void typedConnection<FeedHub, any, HubConnection8>(connection8).stream('ticks', 1);
  void typedConnection<FeedHub, any, AspNetHubConnection>(aspnet).stream('ticks', 1);
}

/** A lifetime manager (the public extension point a backplane implements) that records each send. */
class RecordingLifetimeManager extends HubLifetimeManager {
  readonly sends: unknown[][] = [];
  readonly result = Promise.resolve();
  onConnected(): void {}
  onDisconnected(): void {}
  send(target: HubTarget, method: string, args: unknown[]) {
    this.sends.push([target, method, args]);
    return this.result;
  }
  addToGroup(): Promise<void> {
    return this.result;
  }
  removeFromGroup(): Promise<void> {
    return this.result;
  }
}

describe('typed client proxies', () => {
  let lifetime: RecordingLifetimeManager;
  let clients: HubCallerClients<ChatClient>;
  beforeEach(() => {
    lifetime = new RecordingLifetimeManager();
    clients = new HubCallerClients<ChatClient>(lifetime, 'me');
  });

  it('sends the property name and the arguments to the lifetime manager, once per call, for every target', () => {
    const results = [
      clients.all.receiveMessage('ada', 'hi'),
      clients.caller.userJoined('lobby'),
      clients.others.userJoined('lobby'),
      clients.allExcept(['x']).userJoined('a'),
      clients.client('c1').userJoined('b'),
      clients.clients(['c1', 'c2']).userJoined('c'),
      clients.group('g').receiveMessage('bob', 'yo'),
      clients.groups(['g', 'h']).userJoined('d'),
      clients.groupExcept('g', ['c1']).userJoined('e'),
      clients.othersInGroup('g').userJoined('f'),
      clients.user('u').typing('ada'),
      clients.users(['u', 'v']).userJoined('g'),
    ];
    expect(lifetime.sends).toEqual([
      [{ kind: 'all' }, 'receiveMessage', ['ada', 'hi']],
      [{ kind: 'connection', id: 'me' }, 'userJoined', ['lobby']],
      [{ kind: 'all', except: ['me'] }, 'userJoined', ['lobby']],
      [{ kind: 'all', except: ['x'] }, 'userJoined', ['a']],
      [{ kind: 'connection', id: 'c1' }, 'userJoined', ['b']],
      [{ kind: 'connections', ids: ['c1', 'c2'] }, 'userJoined', ['c']],
      [{ kind: 'group', name: 'g' }, 'receiveMessage', ['bob', 'yo']],
      [{ kind: 'groups', names: ['g', 'h'] }, 'userJoined', ['d']],
      [{ kind: 'group', name: 'g', except: ['c1'] }, 'userJoined', ['e']],
      [{ kind: 'group', name: 'g', except: ['me'] }, 'userJoined', ['f']],
      [{ kind: 'user', id: 'u' }, 'typing', ['ada']],
      [{ kind: 'users', ids: ['u', 'v'] }, 'userJoined', ['g']],
    ]);
    for (const result of results) expect(result).toBe(lifetime.result);
  });

  it('keeps send as the untyped call, with its check of the method name', async () => {
    await clients.group('g').send('anything', 1, 2);
    expect(lifetime.sends).toEqual([[{ kind: 'group', name: 'g' }, 'anything', [1, 2]]]);
    await expect(clients.all.send('')).rejects.toThrow(new TypeError('The client method name must be a non-empty string.'));
    expect(lifetime.sends).toHaveLength(1);
  });

  it('is not a thenable, a JSON value or a symbol holder, and reading, awaiting or inspecting sends nothing', async () => {
    const proxy = clients.caller as unknown as Record<PropertyKey, unknown>;
    expect(proxy.then).toBeUndefined();
    expect(proxy.toJSON).toBeUndefined();
    // eslint-disable-next-line @typescript-eslint/await-thenable -- awaiting a proxy must resolve to it without sending
    expect(await clients.caller).toBe(clients.caller);
    expect(JSON.stringify({ proxy })).toBe('{"proxy":{}}');
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the default stringification is what is checked
    expect(String(proxy)).toBe('[object Object]');
    // eslint-disable-next-line @typescript-eslint/no-base-to-string, @typescript-eslint/restrict-template-expressions -- as above
    expect(`${proxy}`).toBe('[object Object]');
    expect(proxy[Symbol.toPrimitive]).toBeUndefined();
    expect(proxy[Symbol.iterator]).toBeUndefined();
    expect(proxy[Symbol.asyncIterator]).toBeUndefined();
    expect(proxy.toString).toBe(Object.prototype.toString);
    expect(proxy.hasOwnProperty).toBe(Object.prototype.hasOwnProperty);
    expect(proxy.constructor).toBe(TargetedClientProxy);
    expect(inspect(proxy)).toBe('TargetedClientProxy {}');
    expect(Object.keys(proxy)).toEqual([]);
    expect('receiveMessage' in proxy).toBe(false);
    expect(typeof proxy.anything).toBe('function');
    expect(lifetime.sends).toEqual([]);
  });

  it('keeps state out of reach: no own properties, nothing that shadows a client method named like a field', () => {
    const group = clients.group('g') as unknown as Record<string, (...args: unknown[]) => Promise<void>>;
    expect(Object.getOwnPropertyNames(group)).toEqual([]);
    void group.lifetime('a');
    void group.target('b');
    expect(lifetime.sends).toEqual([
      [{ kind: 'group', name: 'g' }, 'lifetime', ['a']],
      [{ kind: 'group', name: 'g' }, 'target', ['b']],
    ]);
  });

  it('long-lived targets keep a sender once it has sent; one-call targets make a fresh one per read', () => {
    const all = clients.all;
    expect(clients.all).toBe(all);
    expect(clients.caller).toBe(clients.caller);
    expect(clients.others).toBe(clients.others);
    const read = all.receiveMessage;
    expect(Object.getOwnPropertyNames(all)).toEqual([]); // reading alone keeps nothing
    const { userJoined } = all; // detached, still bound to its target
    void userJoined('lobby');
    expect(Object.getOwnPropertyNames(all)).toEqual(['userJoined']);
    expect(all.userJoined).toBe(userJoined);
    expect(Object.keys(all)).toEqual([]);
    expect(read).not.toBe(all.receiveMessage);

    const group = clients.group('g');
    void group.userJoined('x');
    expect(group.userJoined).not.toBe(group.userJoined);
    expect(Object.getOwnPropertyNames(group)).toEqual([]);
    expect(lifetime.sends).toEqual([
      [{ kind: 'all' }, 'userJoined', ['lobby']],
      [{ kind: 'group', name: 'g' }, 'userJoined', ['x']],
    ]);
  });

  it('only real proxies answer unknown names: not the prototype, not an object made from a proxy', () => {
    expect((TargetedClientProxy.prototype as unknown as Record<string, unknown>).anything).toBeUndefined();
    expect((Object.create(clients.all) as Record<string, unknown>).anything).toBeUndefined();
    expect(new HubClients(lifetime).all).toBeInstanceOf(TargetedClientProxy);
    expect(lifetime.sends).toEqual([]);
  });
});

describe('client helper entry', () => {
  /** The `require` calls tsc emits for a file (type-only imports are erased). */
  const requires = (file: string): string[] => {
    const source = readFileSync(join(__dirname, '../../src/client', file), 'utf8');
    const output = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
    return [...output.outputText.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]);
  };

  it('loads nothing at runtime but itself: no Nest, no server code, no @microsoft/signalr', () => {
    expect(requires('index.ts')).toEqual(['./typed-connection.js']);
    expect(requires('typed-connection.ts')).toEqual([]);
  });

  it('forwards invoke, send, on and off to the connection it wraps', async () => {
    const calls: unknown[][] = [];
    const connection = {
      invoke: (...args: unknown[]) => (calls.push(['invoke', ...args]), Promise.resolve(5)),
      send: (...args: unknown[]) => (calls.push(['send', ...args]), Promise.resolve()),
      on: (...args: unknown[]) => void calls.push(['on', ...args]),
      off: (...args: unknown[]) => void calls.push(['off', ...args]),
    } as unknown as HubConnection;
    const chat = typedConnection<ChatHub>(connection);
    const handler = (_user: string, _text: string) => undefined;
    await expect(chat.invoke('join', 'lobby')).resolves.toBe(5);
    await chat.send('say', 'hi');
    chat.on('receiveMessage', handler);
    chat.off('receiveMessage', handler);
    chat.off('receiveMessage');
    expect(chat.connection).toBe(connection);
    expect(calls).toEqual([
      ['invoke', 'join', 'lobby'],
      ['send', 'say', 'hi'],
      ['on', 'receiveMessage', handler],
      ['off', 'receiveMessage', handler],
      ['off', 'receiveMessage'],
    ]);
  });
});
