import { AsyncLocalStorage } from 'async_hooks';
import type { InvocationSlot } from '../connection/connection-contracts.js';
import type { HubConnection } from '../connection/hub-connection.js';
import type { HubCallerContext } from './hub-caller-context.js';

/**
 * The caller a hub method or hook runs for. The hub layer only needs who it is; the clients layer's
 * scope (`ConnectionScope`) adds whom it can reach, and `Hub`'s getters read that one.
 */
export interface CallerScope {
  readonly context: HubCallerContext;
}

const scopes = new AsyncLocalStorage<CallerScope>();

/**
 * The scope of one running invocation: its connection's scope, plus the invocation slot that a
 * client-result call gives back (see `releaseCurrentInvocationSlot`). Made per invocation only.
 */
export class InvocationScope implements CallerScope {
  constructor(
    readonly caller: CallerScope,
    private readonly connection: HubConnection,
    private readonly slot: InvocationSlot,
  ) {}

  get context(): HubCallerContext {
    return this.caller.context;
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
export function invokeInScope(scope: CallerScope, instance: object, method: (...args: unknown[]) => unknown, args: unknown[]): unknown {
  return scopes.run(scope, callMethod, instance, method, args);
}

/** The connection's scope of the hub method or hook that is running (inside an invocation too), or undefined outside hub code. */
export function currentCallerScope(): CallerScope | undefined {
  const scope = scopes.getStore();
  return scope instanceof InvocationScope ? scope.caller : scope;
}
