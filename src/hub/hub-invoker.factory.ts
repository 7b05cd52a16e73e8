import { Injectable } from '@nestjs/common';
import { ApplicationConfig, ExternalContextCreator } from '@nestjs/core';
import { isObservable, lastValueFrom, Observable } from 'rxjs';
import {
  EXCEPTION_FILTERS_METADATA,
  exceptionFiltersOf,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  type ExceptionFilterChain,
} from '../platforms/framework-internals.js';
import type { HubDescriptor, HubMethodDescriptor } from './hub-descriptor.js';
import { HubExecutionContext } from './hub-execution-context.js';
import { HUB_PARAMS_METADATA, hubParamsFactory } from './hub-params.js';

/** Calls a hub method through Nest's pipeline with the ws argument layout `[caller, args, methodName]`. */
export type PipelineInvoker = (caller: unknown, args: unknown[], methodName: string) => Promise<unknown>;

/** One method's way through Nest: its pipeline and its exception filters. */
export interface HubPipeline {
  readonly invoke: PipelineInvoker;
  readonly hub: HubDescriptor;
  readonly method: HubMethodDescriptor;
  readonly filters: ExceptionFilterChain;
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
  /** Per method: its pipeline, or null when it is called directly. */
  private readonly pipelines = new WeakMap<HubMethodDescriptor, HubPipeline | null>();

  constructor(
    private readonly contextCreator: ExternalContextCreator,
    private readonly config: ApplicationConfig,
  ) {}

  /** The method's pipeline, made on its first call; null when it needs none. */
  pipelineFor(hub: HubDescriptor, method: HubMethodDescriptor): HubPipeline | null {
    let pipeline = this.pipelines.get(method);
    if (pipeline === undefined) {
      pipeline = this.needsPipeline(hub, method) ? this.create(hub, method) : null;
      this.pipelines.set(method, pipeline);
    }
    return pipeline;
  }

  /** Whether the method needs the pipeline, or can be called directly. */
  needsPipeline(hub: HubDescriptor, method: HubMethodDescriptor): boolean {
    const config = this.config;
    const hasGlobals =
      config.getGlobalGuards().length +
        config.getGlobalRequestGuards().length +
        config.getGlobalPipes().length +
        config.getGlobalRequestPipes().length +
        config.getGlobalInterceptors().length +
        config.getGlobalRequestInterceptors().length +
        config.getGlobalFilters().length +
        config.getGlobalRequestFilters().length >
      0;
    return hasGlobals || method.decorated || hasEnhancers(hub.metatype) || hasEnhancers(method.handler);
  }

  create(hub: HubDescriptor, method: HubMethodDescriptor): HubPipeline {
    const pipeline = this.contextCreator.create(
      hub.instance,
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
    // Method, hub and global filters, in Nest's order (see exceptionFiltersOf for why not the creator's own).
    const filters = exceptionFiltersOf(this.contextCreator, hub.instance, method.handler, hub.moduleKey ?? '');
    return { invoke, hub, method, filters };
  }

  /**
   * Offers an error to the method's exception filters: resolves with what a filter returned (the
   * last value of an Observable), or rejects with the error when none returned anything. A filter
   * may also throw (a HubException) to shape the error.
   */
  async filterError(pipeline: HubPipeline, error: unknown, args: unknown[]): Promise<unknown> {
    const host = new HubExecutionContext(args, HUB_CONTEXT_TYPE, pipeline.hub.metatype, pipeline.method.handler);
    const value = pipeline.filters.invokeCustomFilters(error, host);
    if (value === null || value === undefined) throw error;
    return isObservable(value) ? lastValueFrom(value) : value;
  }
}
