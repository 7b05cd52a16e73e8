import type { Type } from '@nestjs/common';
import type { HubOptions } from '../interfaces/signalr-options.interface.js';

/** What `@Hub()` records on a class, for the explorer to read. */
export interface HubMetadata {
  path: string;
  options: HubOptions;
}

/** One invocable hub method. */
export interface HubMethodDescriptor {
  /** Name on the wire (the method name, or the one given to `@HubMethodName`). */
  readonly name: string;
  /** Name of the class member. */
  readonly methodName: string;
  readonly handler: (...args: unknown[]) => unknown;
  /** Arguments the client must send: the parameters without a parameter decorator. */
  readonly parameterCount: number;
  /** Upload streams the client must send (`streamIds`): the `@UploadStream()` parameters. */
  readonly streamCount: number;
  /** Whether some parameters are filled by decorators (caller, user, custom) rather than by position. */
  readonly decorated: boolean;
}

/** A discovered hub: its class, instance, route and method table. */
export interface HubDescriptor {
  readonly name: string;
  /** Key of the module that provides the hub, where its enhancers are resolved. */
  readonly moduleKey: string | undefined;
  readonly path: string;
  readonly options: HubOptions;
  readonly metatype: Type<unknown>;
  readonly instance: object;
  /** Keyed by the lower-cased wire name: lookup is case-insensitive, as in ASP.NET Core. */
  readonly methods: ReadonlyMap<string, HubMethodDescriptor>;
}
