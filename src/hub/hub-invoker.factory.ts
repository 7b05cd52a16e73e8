import { Injectable } from '@nestjs/common';
import { EXCEPTION_FILTERS_METADATA, GUARDS_METADATA, INTERCEPTORS_METADATA, PIPES_METADATA } from '@nestjs/common/constants';
import { ApplicationConfig, ExternalContextCreator } from '@nestjs/core';
import { isObservable, Observable } from 'rxjs';
// Internal: the ws-style ArgumentsHost that exception filters receive. Kept to this one file.
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { HubDescriptor, HubMethodDescriptor } from './hub-descriptor.js';
import { HUB_PARAMS_METADATA, hubParamsFactory } from './hub-params.js';

/** Calls a hub method through Nest's pipeline with the ws argument layout `[caller, args, methodName]`. */
export type PipelineInvoker = (caller: unknown, args: unknown[], methodName: string) => Promise<unknown>;

/** The exception filters of one method (method, hub, global), as Nest resolves them. */
interface FilterChain {
  invokeCustomFilters(exception: unknown, host: ExecutionContextHost): unknown;
}

/**
 * Nest's pipeline turns an Observable result into its last value (it awaits results), which would
 * collapse a streaming method's items into one. Boxed on the way in and unboxed on the way out,
 * the Observable reaches the dispatcher whole; async iterables pass through as they are.
 */
class ObservableBox {
  constructor(readonly observable: Observable<unknown>) {}
}

function box(result: unknown): unknown {
  return isObservable(result) ? new ObservableBox(result) : result;
}

function unboxObservable(result: unknown): unknown {
  return result instanceof ObservableBox ? result.observable : result;
}

/** The hub method with its Observable results boxed; it carries the method's metadata, which guards and interceptors read from the handler. */
function boxingObservables(handler: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  const boxing = function (this: unknown, ...args: unknown[]): unknown {
    const result = handler.apply(this, args);
    return result instanceof Promise ? result.then(box) : box(result);
  };
  Object.defineProperty(boxing, 'name', { value: handler.name });
  for (const key of Reflect.getOwnMetadataKeys(handler)) Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, handler), boxing);
  return boxing;
}

/** The context type guards see from `getType()`: ws, so existing ws-aware guards and filters work on hubs. */
export const HUB_CONTEXT_TYPE = 'ws';

const ENHANCER_KEYS = [GUARDS_METADATA, PIPES_METADATA, INTERCEPTORS_METADATA, EXCEPTION_FILTERS_METADATA];

function hasEnhancers(target: object): boolean {
  return ENHANCER_KEYS.some((key) => {
    const value = Reflect.getMetadata(key, target) as unknown[] | undefined;
    return value !== undefined && value.length > 0;
  });
}

/**
 * Runs hub methods through Nest's guards, interceptors and pipes (ExternalContextCreator), and their
 * exception filters; built once per method, on its first call, when global enhancers are known.
 * A method with no enhancer anywhere and no parameter decorators skips all of it.
 */
@Injectable()
export class HubInvokerFactory {
  constructor(
    private readonly contextCreator: ExternalContextCreator,
    private readonly config: ApplicationConfig,
  ) {}

  /** Whether the method needs the pipeline, or can be called directly. */
  needsPipeline(hub: HubDescriptor, method: HubMethodDescriptor): boolean {
    const config = this.config;
    const hasGlobals =
      config.getGlobalGuards().length + config.getGlobalRequestGuards().length +
      config.getGlobalPipes().length + config.getGlobalRequestPipes().length +
      config.getGlobalInterceptors().length + config.getGlobalRequestInterceptors().length +
      config.getGlobalFilters().length + config.getGlobalRequestFilters().length > 0;
    return hasGlobals || method.decorated || hasEnhancers(hub.metatype) || hasEnhancers(method.handler);
  }

  create(hub: HubDescriptor, method: HubMethodDescriptor): { invoke: PipelineInvoker; filters: FilterChain } {
    const pipeline = this.contextCreator.create(
      hub.instance as Record<string, (...args: unknown[]) => unknown>,
      boxingObservables(method.handler),
      method.methodName,
      HUB_PARAMS_METADATA,
      hubParamsFactory,
      undefined,
      undefined,
      // Filters run here, not in the creator: its fallback logs every error, expected ones included.
      { guards: true, interceptors: true, filters: false },
      HUB_CONTEXT_TYPE,
    ) as (...args: unknown[]) => Promise<unknown>;
    const invoke = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      return Promise.resolve(pipeline.apply(this, args)).then(unboxObservable);
    } as PipelineInvoker;
    // Internal: the creator's filter resolver, so method, hub and global filters come in Nest's order.
    const filterContext = (this.contextCreator as unknown as {
      filtersContextCreator: { create(instance: object, callback: Function, moduleKey: string): FilterChain };
    }).filtersContextCreator;
    const filters = filterContext.create(hub.instance, method.handler, hub.moduleKey ?? '');
    return { invoke, filters };
  }

  /** Offers an error to the method's exception filters; `handled` is false when none returned anything. */
  applyFilters(filters: FilterChain, error: unknown, args: unknown[]): { handled: boolean; value: unknown } {
    const host = new ExecutionContextHost(args);
    host.setType(HUB_CONTEXT_TYPE);
    const value = filters.invokeCustomFilters(error, host);
    return { handled: value !== null && value !== undefined, value };
  }
}
