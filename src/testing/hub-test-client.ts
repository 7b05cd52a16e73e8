import type { INestApplicationContext, Type } from '@nestjs/common';
import type { TransportName } from '../connection/connection-transport.js';
import type { HubConnection } from '../connection/hub-connection.js';
import type { SignalRModuleOptions } from '../interfaces/signalr-options.interface.js';
import { CloseMessage, CompletionMessage, HubMessage, InvocationMessage, MessageType } from '../protocol/hub-messages.js';
import type { HubMetadata } from '../hub/hub-descriptor.js';
import { HUB_METADATA } from '../signalr.constants.js';
import { SIGNALR_MODULE_OPTIONS } from '../signalr.module-definition.js';
import { SignalRServer } from '../signalr.server.js';
import { InMemoryPeer, type TestProtocolName } from './in-memory-transport.js';
import { HubTestStream, TestUpload } from './test-streams.js';
import { testRequest, type TestRequestInit } from './test-request.js';

/**
 * How `HubTestClient.connect` connects.
 *
 * @example
 * const options: HubTestClientOptions = { user: { sub: 'ada', roles: ['admin'] }, protocol: 'messagepack', request: { url: '/chat?room=lobby' } };
 */
export interface HubTestClientOptions {
  /**
   * The connection's user, as an authenticator would have returned it (`Context.user`, `@HubUser()`);
   * the module's `userIdProvider` derives its user identifier. When omitted, the module's
   * `authenticate` runs on `request`, as for a real request.
   */
  user?: unknown;
  /** The HTTP request the connection pretends to have come with (headers, query, cookies). */
  request?: TestRequestInit;
  /** The hub protocol the test client speaks: 'json' (default) or 'messagepack'. */
  protocol?: TestProtocolName;
  /** The transport hub code sees in `Context` (default 'WebSockets'); bytes still travel in memory. */
  transport?: TransportName;
}

/** What the official client answers when it has no handler for a client-result call. */
const NO_RESULT = "Client didn't provide a result.";

/** The client side of a call that awaits a Completion. */
interface PendingCall {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * A client of one hub connected in process, on the in-memory transport: the connection runs the
 * module's real connection loop, dispatcher, lifetime manager and Nest's guards, pipes, interceptors
 * and filters, without a socket. Invoke hub methods as the official client would, and assert what
 * the server sent this connection (`received`), its groups and each invocation's result or error.
 * Calling a hub method on the hub instance directly throws ("Hub.clients is only available while a
 * hub method or lifecycle hook runs"): this is the supported way to call one in a test.
 *
 * @example
 * const moduleRef = await Test.createTestingModule({ imports: [SignalRModule.forRoot()], providers: [ChatHub] }).compile();
 * const app = moduleRef.createNestApplication();
 * await app.init(); // no listen needed
 * const ada = await HubTestClient.connect(app, ChatHub, { user: { sub: 'ada' } });
 * const bob = await HubTestClient.connect(app, ChatHub, { user: { sub: 'bob' } });
 * await ada.invoke('join', 'lobby');
 * expect(ada.groups).toEqual(new Set(['lobby']));
 * await ada.invoke('send', 'lobby', 'hi');
 * expect(await bob.waitFor('message')).toEqual(['ada', 'hi']);
 * await Promise.all([ada.close(), bob.close()]);
 * await app.close();
 */
export class HubTestClient {
  /** The server's connection behind each peer `openPeer` made (read by `connect`). */
  private static readonly connections = new WeakMap<InMemoryPeer, HubConnection>();
  private nextInvocationId = 1;
  private readonly calls = new Map<string, PendingCall>();
  private readonly streams = new Map<string, HubTestStream<unknown>>();
  private readonly handlers = new Map<string, (...args: unknown[]) => unknown>();
  private readonly invocations: InvocationMessage[] = [];
  private readonly callWaiters: Array<() => void> = [];
  private closeMessage: CloseMessage | null = null;

  private constructor(
    /** The test's end of the in-memory pipe: raw writes and every decoded message. */
    readonly peer: InMemoryPeer,
    private readonly connection: HubConnection,
    private readonly ended: Promise<void>,
  ) {
    peer.onMessage((message) => this.onMessage(message));
    void peer.closed.then(() => this.failAll(new Error('The connection closed.')));
  }

  /**
   * Connects to `hub` in the initialised Nest application `app` (`await app.init()`; it need not
   * listen) and completes the handshake. Resolves once the hub's `onConnected` completed; rejects
   * when authentication, the handshake or `onConnected` fails, or the hub is not served by `app`.
   *
   * @example
   * const hub = await HubTestClient.connect(app, ChatHub, { user: { sub: 'ada', roles: ['admin'] } });
   * // or through the module's own authenticate:
   * const viaToken = await HubTestClient.connect(app, ChatHub, { request: { headers: { authorization: `Bearer ${token}` } } });
   */
  static async connect(app: INestApplicationContext, hub: Type<unknown>, options: HubTestClientOptions = {}): Promise<HubTestClient> {
    const peer = await HubTestClient.openPeer(app, hub, options);
    // Listening before the handshake: what onConnected sends may arrive with the handshake response.
    const client = new HubTestClient(peer, HubTestClient.connections.get(peer)!, peer.ended);
    peer.writeHandshake();
    const response = await peer.readHandshake();
    if (response.error !== undefined) throw new Error(`The handshake failed: ${response.error}`);
    // The handler offers no event for onConnected's end; the flag it sets is checked once per turn.
    while (!client.connection.hubConnected && client.connection.isOpen) await new Promise((resolve) => setImmediate(resolve));
    if (!client.connection.hubConnected) {
      await client.ended;
      const error = client.closeMessage?.error;
      throw new Error(`The server closed the connection before onConnected completed${error ? `: ${error}` : ''}.`);
    }
    return client;
  }

  /**
   * Opens a connection to `hub` on the in-memory transport and hands back the test's end of it,
   * before any handshake: for tests of the protocol itself (handshake errors, raw records, pings).
   * Authentication is as for `connect`.
   *
   * @example
   * const peer = await HubTestClient.openPeer(app, ChatHub, { user: { sub: 'ada' } });
   * peer.writeHandshake('json', 1);
   * expect(await peer.readHandshake()).toEqual({});
   * peer.write({ type: MessageType.Invocation, invocationId: '1', target: 'send', arguments: ['hi'] });
   * expect(await peer.next()).toEqual({ type: MessageType.Completion, invocationId: '1', result: null });
   */
  static async openPeer(app: INestApplicationContext, hub: Type<unknown>, options: HubTestClientOptions = {}): Promise<InMemoryPeer> {
    const server = app.get(SignalRServer, { strict: false });
    const metadata = Reflect.getMetadata(HUB_METADATA, hub) as HubMetadata | undefined;
    if (metadata === undefined) throw new Error(`${hub.name} is not a hub: it has no @Hub() decorator.`);
    const request = testRequest(options.request ?? {}, metadata.path);
    let user = options.user;
    if (!('user' in options)) {
      const moduleOptions = app.get<SignalRModuleOptions>(SIGNALR_MODULE_OPTIONS, { strict: false });
      try {
        user = (await moduleOptions.authenticate?.(request)) ?? undefined;
      } catch (error) {
        throw new Error(`authenticate refused the connection: ${(error as Error).message}`, { cause: error });
      }
      // What a real request would get: 401 from a hub that requires an authenticated user.
      if (user === undefined && (metadata.options.requireAuthentication ?? moduleOptions.requireAuthentication) === true) {
        throw new Error(`${hub.name} requires authentication and authenticate found no user.`);
      }
    }
    const peer = new InMemoryPeer(options.protocol ?? 'json', { transport: options.transport });
    const opened = server.open(hub, peer.transport, request, user, () => peer.serverEnded());
    if (opened === null) {
      throw new Error(
        `${hub.name} is not served by this app: list it as a provider, and call app.init() (a Nest application, not only a module) before connecting.`,
      );
    }
    peer.attach(opened.connection, opened.events);
    HubTestClient.connections.set(peer, opened.connection);
    return peer;
  }

  /** A stream of items to pass as an argument of `invoke`, `send` or `stream`: a client-to-server upload. */
  static upload<T = unknown>(): TestUpload<T> {
    return new TestUpload<T>();
  }

  /** The connection's id (`Context.connectionId`). */
  get connectionId(): string {
    return this.connection.connectionId;
  }

  /** The user identifier the module derived from the user (`Context.userIdentifier`), null when none. */
  get userIdentifier(): string | null {
    return this.connection.userIdentifier;
  }

  /** The groups this connection is in now. */
  get groups(): ReadonlySet<string> {
    return new Set(this.connection.groups ?? []);
  }

  /** Whether the connection is still open on the server. */
  get isOpen(): boolean {
    return this.connection.isOpen && !this.peer.isClosed;
  }

  /** The Close message the server sent, if it sent one (its `error` says why). */
  get closed(): CloseMessage | null {
    return this.closeMessage;
  }

  /**
   * Invokes a hub method and resolves with its result (blocking invocation, as the official client's
   * `invoke`); rejects with the error the client would see.
   *
   * @example
   * await expect(hub.invoke('divide', 1, 0)).rejects.toThrow("An unexpected error occurred invoking 'divide' on the server.");
   */
  invoke<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    if (!this.isOpen) return Promise.reject(new Error(`Cannot invoke '${method}': the connection is closed.`));
    const invocationId = this.newInvocationId();
    const result = new Promise<T>((resolve, reject) => this.calls.set(invocationId, { resolve, reject }));
    this.writeInvocation(MessageType.Invocation, method, args, invocationId);
    return result;
  }

  /**
   * Invokes a hub method without waiting for it (non-blocking, as the official client's `send`).
   * Invocations of one connection run in order, so a later `invoke` completes after it.
   */
  send(method: string, ...args: unknown[]): void {
    this.writeInvocation(MessageType.Invocation, method, args, undefined);
  }

  /**
   * Invokes a streaming hub method; the items arrive on the returned stream.
   *
   * @example
   * expect(await hub.stream<number>('counter', 3).toArray()).toEqual([0, 1, 2]);
   */
  stream<T = unknown>(method: string, ...args: unknown[]): HubTestStream<T> {
    const invocationId = this.newInvocationId();
    const stream = new HubTestStream<T>(() => this.peer.write({ type: MessageType.CancelInvocation, invocationId }));
    if (!this.isOpen) {
      stream.end(new Error(`Cannot stream '${method}': the connection is closed.`));
      return stream;
    }
    this.streams.set(invocationId, stream);
    this.writeInvocation(MessageType.StreamInvocation, method, args, invocationId);
    return stream;
  }

  /**
   * Handles the server's calls of `method` on this client. For a client-result call
   * (`Clients.caller.invoke(...)`), what it returns (or throws) is the answer.
   *
   * @example
   * hub.on('confirm', (question) => question === 'delete?');
   */
  on(method: string, handler: (...args: any[]) => unknown): this {
    this.handlers.set(method.toLowerCase(), handler);
    return this;
  }

  /**
   * The arguments of every call of `method` the server made on this client so far, in order
   * (method names compare case-insensitively, as the official client's).
   *
   * @example
   * expect(hub.received('message')).toEqual([['ada', 'hi']]);
   */
  received(method: string): unknown[][] {
    const name = method.toLowerCase();
    return this.invocations.filter((message) => message.target.toLowerCase() === name).map((message) => message.arguments);
  }

  /** Every call the server made on this client so far: method and arguments, in order. */
  get receivedCalls(): Array<{ method: string; args: unknown[] }> {
    return this.invocations.map((message) => ({ method: message.target, args: message.arguments }));
  }

  /**
   * Waits until the server called `method` on this client `count` times in all (1 by default) and
   * resolves with the arguments of that call; rejects if the connection closes first.
   */
  async waitFor(method: string, count = 1): Promise<unknown[]> {
    for (;;) {
      const calls = this.received(method);
      if (calls.length >= count) return calls[count - 1];
      if (this.peer.isClosed) throw new Error(`The connection closed before '${method}' was called ${count} time(s) (${calls.length} so far).`);
      await Promise.race([new Promise<void>((resolve) => this.callWaiters.push(resolve)), this.peer.closed]);
    }
  }

  /**
   * Closes the connection as a client that stops does, and resolves once the server is done with it
   * (the hub's `onDisconnected` completed).
   */
  async close(): Promise<void> {
    if (!this.peer.isClosed) this.peer.disconnect();
    await this.ended;
  }

  /** Resolves once the server is done with the connection, however it ended. */
  whenEnded(): Promise<void> {
    return this.ended;
  }

  private newInvocationId(): string {
    return String(this.nextInvocationId++);
  }

  private writeInvocation(
    type: typeof MessageType.Invocation | typeof MessageType.StreamInvocation,
    target: string,
    args: unknown[],
    invocationId: string | undefined,
  ): void {
    const uploads = args.filter((arg): arg is TestUpload<unknown> => arg instanceof TestUpload);
    const streamIds = uploads.map(() => this.newInvocationId());
    const plain = args.filter((arg) => !(arg instanceof TestUpload));
    const message = { type, target, arguments: plain, ...(invocationId === undefined ? {} : { invocationId }), ...(streamIds.length > 0 ? { streamIds } : {}) };
    this.peer.write(message as HubMessage);
    uploads.forEach((upload, index) => upload.bind(this.peer, streamIds[index]));
  }

  private onMessage(message: HubMessage): void {
    switch (message.type) {
      case MessageType.Invocation:
        this.invocations.push(message);
        for (const waiter of this.callWaiters.splice(0)) waiter();
        this.runHandler(message);
        return;
      case MessageType.StreamItem:
        this.streams.get(message.invocationId)?.push(message.item);
        return;
      case MessageType.Completion:
        return this.complete(message);
      case MessageType.Close:
        this.closeMessage = message;
        this.failAll(new Error(message.error ? `Server closed the connection with an error: ${message.error}` : 'Server closed the connection.'));
        return;
    }
  }

  private complete(message: CompletionMessage): void {
    const error = message.error === undefined || message.error === null ? undefined : new Error(message.error);
    const call = this.calls.get(message.invocationId);
    if (call !== undefined) {
      this.calls.delete(message.invocationId);
      if (error !== undefined) call.reject(error);
      else call.resolve(message.result);
      return;
    }
    const stream = this.streams.get(message.invocationId);
    if (stream === undefined) return;
    this.streams.delete(message.invocationId);
    stream.end(error);
  }

  private failAll(error: Error): void {
    for (const call of this.calls.values()) call.reject(error);
    for (const stream of this.streams.values()) stream.end(error);
    this.calls.clear();
    this.streams.clear();
  }

  /** Runs the handler for a call; a client-result call (with an id) is answered as the official client would. */
  private runHandler(message: InvocationMessage): void {
    const handler = this.handlers.get(message.target.toLowerCase());
    const invocationId = message.invocationId;
    if (invocationId === undefined) {
      handler?.(...message.arguments);
      return;
    }
    if (handler === undefined) return this.peer.write({ type: MessageType.Completion, invocationId, error: NO_RESULT });
    Promise.resolve()
      .then(() => handler(...message.arguments))
      .then(
        (result) => this.peer.write({ type: MessageType.Completion, invocationId, result }),
        (error) => this.peer.write({ type: MessageType.Completion, invocationId, error: `Error: ${(error as Error)?.message ?? String(error)}` }),
      );
  }
}
