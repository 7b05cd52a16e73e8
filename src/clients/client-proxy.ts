import type { HubLifetimeManager } from '../lifetime/hub-lifetime-manager.js';
import type { HubTarget } from '../lifetime/hub-target.js';
import { ClientResultTexts, splitSignal } from '../lifetime/client-results.js';
import { releaseCurrentInvocationSlot } from '../hub/hub-call-scope.js';
import { traceClientResult, traceSend } from '../observability/outbound-telemetry.js';
import { telemetry } from '../observability/telemetry-state.js';

/**
 * A set of clients to call a method on, as ASP.NET Core's `IClientProxy`. `send` resolves once the
 * message is queued for every recipient; sending to nobody is not an error. Arguments a hub protocol
 * cannot serialize (a BigInt, a cycle, nesting past 500 levels, a throwing toJSON) reach only the
 * recipients of the protocols that can write them, and `send` rejects with the encoder's error.
 *
 * @example
 * await this.clients.group('room-1').send('message', 'ada', 'hello');
 */
export interface ClientProxy {
  send(method: string, ...args: unknown[]): Promise<void>;
}

/**
 * One connection, which can also answer: ASP.NET Core's `ISingleClientProxy`, offered by `client(id)`
 * and `caller`.
 */
export interface SingleClientProxy extends ClientProxy {
  /**
   * Invokes `method` on the client and resolves with what its handler returns (client results). A
   * last argument that is an `AbortSignal` is not sent: it cancels the wait (`AbortSignal.timeout(ms)`
   * for a timeout). Rejects with a `HubException` carrying the client's error, an `IOException`-named
   * error when the connection does not exist or disconnects, `Invocation canceled by the server.`
   * on cancellation, and the encoder's error when the connection's protocol cannot serialize the
   * arguments (nothing is sent then). Not allowed inside `onConnected`.
   *
   * @example
   * const answer = await this.clients.caller.invoke<string>('confirm', 'Delete?', AbortSignal.timeout(10_000));
   */
  invoke<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
}

/**
 * Names a typed proxy never turns into client calls: `send` is the untyped call, `invoke` the
 * client-result call (a real member of single-client targets), `then` keeps proxies from looking
 * like promises, `toJSON` keeps them serializable, and `Object.prototype`'s members
 * (`toString`, `valueOf`, `constructor`, ...) keep their usual meaning. A client interface that
 * declares one of them gets a proxy type on which every call fails to type-check, naming the clash.
 */
// `keyof Object` on purpose: Object.prototype's member names (`keyof object` is never).
// eslint-disable-next-line @typescript-eslint/no-wrapper-object-types
export type ReservedClientMethodName = 'send' | 'invoke' | 'then' | 'toJSON' | keyof Object;

/**
 * The constraint `Hub<TClient>` puts on a client interface: no reserved name (see `ReservedClientMethodName`),
 * so a clash is reported where the hub declares its interface.
 */
export type ClientInterface<TClient> = {
  [K in keyof TClient]: K extends ReservedClientMethodName ? `'${K}' is reserved by typed proxies: rename this client method` : TClient[K];
};

/** True for `any` and `unknown`: a hub or context without a client interface. */
export type IsUntypedClient<TClient> = 0 extends 1 & TClient ? true : unknown extends TClient ? true : false;

type AnyFunction = (...args: any[]) => unknown;

/** The string keys of `TClient` whose values are methods (optional ones included). */
export type ClientMethodName<TClient> = {
  [K in keyof TClient]-?: K extends string ? (NonNullable<TClient[K]> extends AnyFunction ? K : never) : never;
}[keyof TClient];

/** The typed calls a proxy offers for a client interface: each method takes its arguments and returns `Promise<void>`. */
export type ClientMethods<TClient> = {
  readonly [K in ClientMethodName<TClient>]: (...args: Parameters<Extract<NonNullable<TClient[K]>, AnyFunction>>) => Promise<void>;
};

/** The proxy type of a client interface whose names clash with the proxy's own (see `ReservedClientMethodName`). */
export type ReservedClientMethodError<TName extends string> = {
  readonly [P in `A client interface cannot declare '${TName}': typed proxies reserve that name (call it with send('${TName}', ...))`]: never;
};

/**
 * A proxy for a hub's client interface, as ASP.NET Core's `Hub<T>` proxies: `proxy.receiveMessage(user, text)`
 * sends the client method `receiveMessage` (clients match names case-insensitively) and resolves as `send` does.
 * `send(method, ...args)` stays available as the untyped call. Without a client interface (`any`/`unknown`)
 * it is a plain `ClientProxy`.
 *
 * @example
 * interface ChatClient { receiveMessage(user: string, text: string): void }
 * const proxy: TypedClientProxy<ChatClient> = this.clients.group('room-1');
 * await proxy.receiveMessage('ada', 'hello');
 */
export type TypedClientProxy<TClient> =
  IsUntypedClient<TClient> extends true
    ? ClientProxy
    : [Extract<keyof TClient, ReservedClientMethodName>] extends [never]
      ? ClientProxy & ClientMethods<TClient>
      : ReservedClientMethodError<Extract<keyof TClient, ReservedClientMethodName> & string>;

/** A single-client target's proxy: a typed proxy that also offers `invoke` (client results). */
export type TypedSingleClientProxy<TClient> =
  TypedClientProxy<TClient> extends ClientProxy ? TypedClientProxy<TClient> & SingleClientProxy : TypedClientProxy<TClient>;

/** A send's target; a single connection also says whether client results are allowed now (false while the caller's onConnected runs, hub scopes only). */
type Target = Exclude<HubTarget, { kind: 'connection' }> | { readonly kind: 'connection'; readonly id: string; readonly invokeAllowed?: () => boolean };

type Sender = (...args: unknown[]) => Promise<void>;

/**
 * Set by the class's static block, the only code outside the class that reaches its private state:
 * the sender of `method` for `receiver`, or undefined when `receiver` is not a `TargetedClientProxy`
 * (the prototype itself, or an object made with `Object.create(proxy)`).
 */
let senderFor: (receiver: unknown, method: string) => Sender | undefined;

/**
 * One immutable target; each send hands it to the lifetime manager's `send` as it is.
 *
 * Typed calls (`proxy.anyName(...args)`) come from one `Proxy` shared by every instance, placed in the
 * prototype chain behind `TargetedClientProxy.prototype`: `send` and every other real member resolve
 * before it (plain property loads, nothing trapped), and only names found nowhere reach its `get` trap.
 * State lives in `#private` fields so that constructing one never reaches the trap either, and so that
 * no state name shadows a client method. Long-lived targets (`all`, `caller`, `others`) keep each sender
 * as a non-enumerable own property after its first call, so later calls skip the trap; a target made for
 * one call (`group(name)`, ...) gets a fresh sender on each read instead, which costs less than keeping it.
 */
export class TargetedClientProxy implements ClientProxy {
  readonly #lifetime: HubLifetimeManager;
  readonly #target: Target;
  readonly #memoize: boolean;

  constructor(lifetime: HubLifetimeManager, target: Target, memoize = false) {
    this.#lifetime = lifetime;
    this.#target = target;
    this.#memoize = memoize;
  }

  send(method: string, ...args: unknown[]): Promise<void> {
    if (typeof method !== 'string' || method.length === 0) {
      return Promise.reject(new TypeError('The client method name must be a non-empty string.'));
    }
    return this.#dispatch(method, args);
  }

  /** A real member, so the typed-call trap never sees it; only single-client targets accept it. */
  invoke<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    const target = this.#target;
    if (target.kind !== 'connection') return Promise.reject(new TypeError('Client results need a single-client target (client(id) or caller).'));
    if (typeof method !== 'string' || method.length === 0) {
      return Promise.reject(new TypeError('The client method name must be a non-empty string.'));
    }
    if (target.invokeAllowed !== undefined && !target.invokeAllowed()) return Promise.reject(new Error(ClientResultTexts.notInOnConnected));
    // Waiting for a client must not hold the running invocation's slot (ASP.NET Core gives it back too).
    releaseCurrentInvocationSlot();
    const call = splitSignal(args);
    return traceClientResult(this.#lifetime, method, () => this.#lifetime.invokeConnection<T>(target.id, method, call.args, call.signal));
  }

  #dispatch(method: string, args: unknown[]): Promise<void> {
    if (telemetry.tracesOn) return traceSend(this.#lifetime, this.#target.kind, method, () => this.#lifetime.send(this.#target, method, args));
    return this.#lifetime.send(this.#target, method, args);
  }

  static {
    senderFor = (proxy, method) => {
      if (typeof proxy !== 'object' || proxy === null || !(#memoize in proxy)) return undefined;
      // A long-lived target keeps the sender once it has sent (not when it is merely read, as
      // util.inspect and test matchers probe names), so names that are never called leave nothing behind.
      let kept = !proxy.#memoize;
      const sender: Sender = (...args) => {
        if (!kept) {
          kept = true;
          Object.defineProperty(proxy, method, { value: sender, writable: true, configurable: true });
        }
        return proxy.#dispatch(method, args);
      };
      return sender;
    };
  }
}

/** Names the trap leaves alone although nothing defines them (see `ReservedClientMethodName`). */
const UNTRAPPED = new Set<string>(['then', 'toJSON']);

const typedCalls = new Proxy(Object.create(Object.prototype) as object, {
  get(base, property, receiver) {
    // Symbols (inspection, iteration, coercion), Object.prototype's members and the reserved names
    // answer as on a plain object; `then` stays undefined, so awaiting a proxy does not send anything.
    if (typeof property === 'symbol' || property in base || UNTRAPPED.has(property)) return Reflect.get(base, property, receiver) as unknown;
    return senderFor(receiver, property);
  },
});
Object.setPrototypeOf(TargetedClientProxy.prototype, typedCalls);
