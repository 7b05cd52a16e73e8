/*
 * The client side of typed hubs, for browser and Node apps that use the official client. Nothing here
 * is imported at runtime except this file itself: the hub class and `@microsoft/signalr` are types only,
 * so a browser bundle that uses `typedConnection` carries neither Nest nor the server.
 */
import type { HubConnection, IStreamResult } from '@microsoft/signalr';
import type { ClientOf } from '../clients/hub-context.js';
import type { ClientMethodName, IsUntypedClient } from '../clients/client-proxy.js';

/**
 * What `typedConnection` needs of a connection: the official client's `HubConnection` (any version,
 * `@microsoft/signalr` 3.x to 11.x or `@aspnet/signalr`, since only these public methods are read).
 */
export type SignalRConnection = Pick<HubConnection, 'invoke' | 'send' | 'stream' | 'on' | 'off'>;

type AnyFunction = (...args: any[]) => unknown;

/** Members of a hub class that are not hub methods: lifecycle hooks, `Hub`'s members. */
type NotAHubMethod =
  | 'onConnected'
  | 'onDisconnected'
  | 'onModuleInit'
  | 'onModuleDestroy'
  | 'onApplicationBootstrap'
  | 'beforeApplicationShutdown'
  | 'onApplicationShutdown'
  | 'context'
  | 'clients'
  | 'groups'
  | `_${string}`;

/**
 * The names of a hub's methods that clients can invoke: its public methods (TypeScript's `keyof` omits
 * private and protected ones) except the lifecycle hooks, `context`/`clients`/`groups` and `_`-prefixed
 * names, as the server's hub explorer. A method renamed with `@HubMethodName` keeps its property name
 * here; invoke it through `connection` by its wire name.
 */
export type ServerMethodName<THub> = {
  [K in keyof THub]-?: K extends NotAHubMethod ? never : K extends string ? (THub[K] extends AnyFunction ? K : never) : never;
}[keyof THub];

/**
 * What a client passes for one hub parameter: the official client's `Subject<T>` (or any `IStreamResult<T>`)
 * for an upload stream (`@UploadStream() items: AsyncIterable<T>`), the parameter's own type otherwise.
 */
export type ClientArg<TParam> = TParam extends AsyncIterable<infer T> ? IStreamResult<T> : TParam;

/** The arguments of hub method `K`, upload streams as the client passes them (see `ClientArg`). */
export type ServerMethodArgs<THub, K extends ServerMethodName<THub>> = THub[K] extends (...args: infer A) => unknown
  ? { [I in keyof A]: ClientArg<A[I]> }
  : never;

/** What invoking hub method `K` resolves with: its return type, awaited. */
export type ServerMethodResult<THub, K extends ServerMethodName<THub>> = THub[K] extends (...args: any[]) => infer R ? Awaited<R> : never;

/**
 * The item type of a server-to-client stream: `T` for a hub method returning (a promise of) an
 * `AsyncIterable<T>`, an async generator of `T` or an rxjs `Observable<T>`; `never` for other results.
 * Observables are recognised by shape, so the client side needs no rxjs.
 */
export type StreamItemOf<TResult> =
  Awaited<TResult> extends AsyncIterable<infer T>
    ? T
    : Awaited<TResult> extends { subscribe: AnyFunction; forEach(next: (value: infer T) => void, ...rest: any[]): unknown }
      ? T
      : never;

/** The names of a hub's streaming methods: those whose result is a stream (see `StreamItemOf`). */
export type ServerStreamName<THub> = {
  [K in ServerMethodName<THub>]: THub[K] extends (...args: any[]) => infer R ? ([StreamItemOf<R>] extends [never] ? never : K) : never;
}[ServerMethodName<THub>];

/** The items hub method `K` streams to the client. */
export type ServerStreamItem<THub, K extends ServerMethodName<THub>> = THub[K] extends (...args: any[]) => infer R ? StreamItemOf<R> : never;

/**
 * A hub's invocable methods as the client sees them: the same parameters, and a promise of the awaited
 * return type. `THub` is the hub class (imported with `import type`) or any interface describing it.
 */
export type ServerMethods<THub> = {
  [K in ServerMethodName<THub>]: (...args: ServerMethodArgs<THub, K>) => Promise<ServerMethodResult<THub, K>>;
};

/** Method names a client can register handlers for; any string without a client interface. */
export type ClientHandlerName<TClient> = IsUntypedClient<TClient> extends true ? string : ClientMethodName<TClient>;

/** The handler of client method `K`: the method's own signature from the client interface. */
export type ClientHandler<TClient, K> =
  IsUntypedClient<TClient> extends true ? (...args: any[]) => unknown : K extends keyof TClient ? Extract<NonNullable<TClient[K]>, AnyFunction> : never;

/** A connection with typed `invoke`/`send`/`stream` for the hub's methods and typed `on`/`off` for its client's. */
export interface TypedHubConnection<THub, TClient = ClientOf<THub>, TConnection extends SignalRConnection = HubConnection> {
  /** The official client's connection underneath: `start`, `stop`, `onclose`, ... */
  readonly connection: TConnection;
  /** Invokes a hub method and resolves with its result (as the protocol carries it: JSON turns a `Date` into a string). */
  invoke<K extends ServerMethodName<THub>>(method: K, ...args: ServerMethodArgs<THub, K>): Promise<ServerMethodResult<THub, K>>;
  /** Invokes a hub method without waiting for it to run (no result, no error). */
  send<K extends ServerMethodName<THub>>(method: K, ...args: ServerMethodArgs<THub, K>): Promise<void>;
  /**
   * Starts a server-to-client stream of a hub method that returns an `AsyncIterable`, async generator or
   * `Observable`, with its items typed. Upload streams are passed as `Subject`s of their item type.
   *
   * @example
   * const subscription = chat.stream('counter', 10).subscribe({   // counter(count: number): AsyncIterable<number>
   *   next: (value) => render(value),                              // value: number
   *   error: (error) => console.error(error),
   *   complete: () => console.log('done'),
   * });
   * subscription.dispose();                                         // cancels the stream on the server
   */
  stream<K extends ServerStreamName<THub>>(method: K, ...args: ServerMethodArgs<THub, K>): IStreamResult<ServerStreamItem<THub, K>>;
  /** Registers a handler for a client method the hub calls. */
  on<K extends ClientHandlerName<TClient>>(method: K, handler: ClientHandler<TClient, K>): void;
  /** Removes one handler of a client method, or all of them. */
  off<K extends ClientHandlerName<TClient>>(method: K, handler?: ClientHandler<TClient, K>): void;
}

class TypedConnection<THub, TClient, TConnection extends SignalRConnection> implements TypedHubConnection<THub, TClient, TConnection> {
  constructor(readonly connection: TConnection) {}

  invoke<K extends ServerMethodName<THub>>(method: K, ...args: ServerMethodArgs<THub, K>): Promise<ServerMethodResult<THub, K>> {
    return this.connection.invoke(method, ...args);
  }

  send<K extends ServerMethodName<THub>>(method: K, ...args: ServerMethodArgs<THub, K>): Promise<void> {
    return this.connection.send(method, ...args);
  }

  stream<K extends ServerStreamName<THub>>(method: K, ...args: ServerMethodArgs<THub, K>): IStreamResult<ServerStreamItem<THub, K>> {
    return this.connection.stream(method, ...args);
  }

  on<K extends ClientHandlerName<TClient>>(method: K, handler: ClientHandler<TClient, K>): void {
    this.connection.on(method, handler as AnyFunction);
  }

  off<K extends ClientHandlerName<TClient>>(method: K, handler?: ClientHandler<TClient, K>): void {
    if (handler === undefined) this.connection.off(method);
    else this.connection.off(method, handler as AnyFunction);
  }
}

/**
 * Wraps an official client connection with types taken from a hub class: `invoke`/`send`/`stream` check
 * the hub method's name and arguments and type its result or stream items, `on`/`off` check the handler against the hub's client
 * interface (`Hub<TClient>`, or the second type argument). Calls go straight to the connection. The third
 * type argument is the connection's type when it is not `@microsoft/signalr`'s own `HubConnection`.
 *
 * @example
 * import type { ChatHub } from '../server/chat.hub';
 * import { typedConnection } from 'nestjs-signalr/client';
 *
 * const chat = typedConnection<ChatHub>(new HubConnectionBuilder().withUrl('/hubs/chat').build());
 * chat.on('receiveMessage', (user, text) => render(user, text)); // (user: string, text: string)
 * await chat.connection.start();
 * const count: number = await chat.invoke('join', 'room-1');
 * chat.stream('history', 'room-1').subscribe({ next: (line) => render(line), error: console.error, complete: () => {} });
 */
export function typedConnection<THub, TClient = ClientOf<THub>, TConnection extends SignalRConnection = HubConnection>(
  connection: TConnection,
): TypedHubConnection<THub, TClient, TConnection> {
  return new TypedConnection<THub, TClient, TConnection>(connection);
}
