import type { ExecutionContext, Type } from '@nestjs/common';

type WsArgumentsHost = ReturnType<ExecutionContext['switchToWs']>;
type HttpArgumentsHost = ReturnType<ExecutionContext['switchToHttp']>;
type RpcArgumentsHost = ReturnType<ExecutionContext['switchToRpc']>;

/**
 * The context exception filters receive for a hub method: ws-typed, with the ws argument layout
 * `[caller, args, methodName]` (plus the stream's signal), as guards and interceptors see it from
 * Nest's pipeline; `switchToWs().getPattern()` is the method's name. Our own, as Nest's
 * ExecutionContextHost is internal.
 */
export class HubExecutionContext implements ExecutionContext {
  constructor(
    private readonly args: unknown[],
    private readonly type: string,
    private readonly hubClass: Type<unknown>,
    private readonly handler: (...args: unknown[]) => unknown,
  ) {}

  getType<TContext extends string>(): TContext {
    return this.type as TContext;
  }

  getClass<T>(): Type<T> {
    return this.hubClass as Type<T>;
  }

  getHandler(): (...args: unknown[]) => unknown {
    return this.handler;
  }

  getArgs<T extends unknown[]>(): T {
    return this.args as T;
  }

  getArgByIndex<T>(index: number): T {
    return this.args[index] as T;
  }

  switchToWs(): WsArgumentsHost {
    return {
      getClient: <T>() => this.args[0] as T,
      getData: <T>() => this.args[1] as T,
      getPattern: () => this.args[2] as string,
    };
  }

  switchToHttp(): HttpArgumentsHost {
    return {
      getRequest: <T>() => this.args[0] as T,
      getResponse: <T>() => this.args[1] as T,
      getNext: <T>() => this.args[2] as T,
    };
  }

  switchToRpc(): RpcArgumentsHost {
    return {
      getData: <T>() => this.args[0] as T,
      getContext: <T>() => this.args[1] as T,
    };
  }
}
