import { Injectable, SetMetadata, Type, applyDecorators } from '@nestjs/common';
import type { ClientInterface } from '../clients/client-proxy.js';
import { ConnectionScope } from '../clients/connection-scope.js';
import type { GroupManager } from '../clients/group-manager.js';
import type { HubCallerClients } from '../clients/hub-clients.js';
import { currentCallerScope } from '../hub/hub-call-scope.js';
import type { HubCallerContext } from '../hub/hub-caller-context.js';
import type { HubMetadata } from '../hub/hub-descriptor.js';
import type { HubOptions } from '../interfaces/signalr-options.interface.js';
import { HUB_METADATA } from '../signalr.constants.js';
import { rememberHubClass } from './hub-classes.js';

function hubClassDecorator(path: string, options: HubOptions = {}): ClassDecorator {
  if (typeof path !== 'string' || path.trim().length === 0) throw new Error('@Hub() needs the path the hub is served at.');
  const metadata: HubMetadata = { path, options };
  const decorate = applyDecorators(Injectable(), SetMetadata(HUB_METADATA, metadata));
  return (target) => {
    rememberHubClass(target as unknown as Type<unknown>);
    decorate(target);
  };
}

function currentScope(member: string): ConnectionScope {
  const scope = currentCallerScope();
  if (!(scope instanceof ConnectionScope)) {
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
