import { AsyncLocalStorage } from 'async_hooks';
import type { HubCallerClients } from '../clients/hub-clients.js';
import type { ClientInterface } from '../clients/client-proxy.js';
import type { GroupManager } from '../clients/group-manager.js';
import { hubClassDecorator } from '../decorators/hub.decorator.js';
import type { HubOptions } from '../interfaces/signalr-options.interface.js';
import type { InvocationSlot } from '../connection/connection-contracts.js';
import type { HubConnection } from '../connection/hub-connection.js';
import type { HubCallerContext } from './hub-caller-context.js';

/** What a hub method sees of its caller: who it is, whom it can reach, and the hub's groups. */
export interface HubCallScope {
  readonly context: HubCallerContext;
  readonly clients: HubCallerClients;
  readonly groups: GroupManager;
}

const scopes = new AsyncLocalStorage<HubCallScope>();

/**
 * The scope of one running invocation: its connection's scope, plus the invocation slot that a
 * client-result call gives back (see `releaseCurrentInvocationSlot`). Made per invocation only.
 */
export class InvocationScope implements HubCallScope {
  constructor(
    private readonly base: HubCallScope,
    private readonly connection: HubConnection,
    private readonly slot: InvocationSlot,
  ) {}

  get context(): HubCallerContext {
    return this.base.context;
  }

  get clients(): HubCallerClients {
    return this.base.clients;
  }

  get groups(): GroupManager {
    return this.base.groups;
  }

  releaseSlot(): void {
    this.connection.controller?.releaseInvocationSlot(this.connection, this.slot);
  }
}

/**
 * Called when hub code starts waiting for a client result: the running invocation gives its slot
 * back, as ASP.NET Core does, so the caller's next invocations (which may be what produces the
 * answer) can run meanwhile. Outside an invocation it does nothing.
 */
export function releaseCurrentInvocationSlot(): void {
  const scope = scopes.getStore();
  if (scope instanceof InvocationScope) scope.releaseSlot();
}

function callMethod(instance: object, method: (...args: unknown[]) => unknown, args: unknown[]): unknown {
  return method.apply(instance, args);
}

/** Runs a hub method with its caller's scope; the singleton hub reads the scope through `Hub`'s getters. */
export function invokeInScope(scope: HubCallScope, instance: object, method: (...args: unknown[]) => unknown, args: unknown[]): unknown {
  return scopes.run(scope, callMethod, instance, method, args);
}

function currentScope(member: string): HubCallScope {
  const scope = scopes.getStore();
  if (scope === undefined) {
    throw new Error(`Hub.${member} is only available while a hub method or lifecycle hook runs. Outside hubs, inject HubContext.`);
  }
  return scope;
}

/**
 * Members a class gets by extending `Hub`, or `Hub<TClient>` for type-checked calls of the methods its
 * clients implement (ASP.NET Core's `Hub<T>`): `this.clients.all.receiveMessage(user, text)`.
 */
export interface Hub<TClient extends ClientInterface<TClient> = any> {
  /** The caller of the method that is running. */
  readonly context: HubCallerContext;
  /** Targets relative to the caller (`caller`, `others`, `othersInGroup`) and every other target. */
  readonly clients: HubCallerClients<TClient>;
  /** Adds and removes connections to and from this hub's groups. */
  readonly groups: GroupManager;
}

/** `Hub` is both the class decorator and the optional base class. */
export interface HubDecoratorAndBase {
  (path: string, options?: HubOptions): ClassDecorator;
  new <TClient extends ClientInterface<TClient> = any>(): Hub<TClient>;
  readonly prototype: Hub;
}

/**
 * `@Hub(path, options?)` marks a class as a hub served at `path`; the class is an ordinary provider
 * (list it in a module's `providers`) and every public method is a hub method. Options override the
 * module's for this hub.
 *
 * Extending `Hub` is optional and gives `this.context`, `this.clients` and `this.groups` for the
 * current caller, as ASP.NET Core's `Hub` base class, although the hub is a singleton (async-local
 * state, no request scope).
 *
 * @example
 * @Hub('/hubs/chat')
 * export class ChatHub extends Hub {
 *   constructor(private readonly rooms: RoomService) { super(); }
 *   async send(message: string) {
 *     await this.clients.others.send('message', this.context.userIdentifier, message);
 *   }
 * }
 *
 * @example
 * interface ChatClient { receiveMessage(user: string, text: string): void }
 * @Hub('/hubs/typed-chat')
 * export class TypedChatHub extends Hub<ChatClient> {
 *   send(text: string) { return this.clients.all.receiveMessage(this.context.userIdentifier ?? 'anonymous', text); }
 * }
 */
export const Hub = function Hub(this: unknown, path?: string, options?: HubOptions): ClassDecorator | void {
  if (new.target !== undefined) return; // `super()` from a hub class: nothing to set up
  return hubClassDecorator(path as string, options);
} as unknown as HubDecoratorAndBase;

Object.defineProperties(Hub.prototype, {
  context: { get: () => currentScope('context').context },
  clients: { get: () => currentScope('clients').clients },
  groups: { get: () => currentScope('groups').groups },
});
