import type { ParamData } from '@nestjs/common';
import { CUSTOM_ROUTE_ARGS_METADATA, ROUTE_ARGS_METADATA, routeArgKey, routeArgType, type RouteArgRecord } from '../platforms/framework-internals.js';
import type { HubCallerContext } from './hub-caller-context.js';

/**
 * Parameter kinds of a hub method, stored like Nest's route params (`"<type>:<index>"` keys). The
 * arguments a guard or pipe sees are `[caller, arguments, methodName]`, the ws layout, so
 * `switchToWs().getClient()` is the caller and `getData()` the arguments.
 */
export const HubParamType = {
  /**
   * A positional hub argument; `data` is its position among the undecorated parameters. It is the
   * message body, and has Nest's body type (3), so pipes such as ValidationPipe treat it as `'body'`;
   * the other kinds reach pipes as `'custom'`.
   */
  Argument: 3,
  Caller: 20,
  ConnectionId: 21,
  User: 22,
  Arguments: 23,
  StreamCancellation: 24,
  /** A client upload stream; `data` is its index in the invocation's values (after the sent arguments). */
  Upload: 25,
} as const;

/** Where parameter metadata of hub methods is kept, user decorators and positional arguments together. */
export const HUB_PARAMS_METADATA = 'signalr:hub-params';

type HubInvocationArgs = [caller: HubCallerContext, args: unknown[], methodName: string, signal?: AbortSignal];

/** Gives each parameter its value from the invocation, for Nest's external context creator. */
export const hubParamsFactory = {
  exchangeKeyForValue(type: number, data: ParamData, args: unknown[]): unknown {
    const [caller, values] = args as HubInvocationArgs;
    switch (type) {
      case HubParamType.Argument:
        return values[data as number];
      case HubParamType.Caller:
        return caller;
      case HubParamType.ConnectionId:
        return caller.connectionId;
      case HubParamType.User:
        return caller.user;
      case HubParamType.Arguments:
        return values;
      case HubParamType.StreamCancellation:
        return (args as HubInvocationArgs)[3];
      case HubParamType.Upload:
        return values[data as number];
      default:
        return undefined;
    }
  },
};

function hubParam(type: number): ParameterDecorator {
  return (target, key, index) => {
    if (key === undefined) throw new Error('Hub parameter decorators go on hub method parameters.');
    const existing = (Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, key) as Record<string, unknown> | undefined) ?? {};
    Reflect.defineMetadata(ROUTE_ARGS_METADATA, { ...existing, [routeArgKey(type, index)]: { index, data: undefined, pipes: [] } }, target.constructor, key);
  };
}

/**
 * Injects the caller's `HubCallerContext` into a hub method parameter (for hubs that do not extend
 * `Hub`, or for clarity). Decorated parameters take no client argument.
 *
 * @example
 * send(@Caller() caller: HubCallerContext, text: string) { ... }   // the client sends one argument
 */
export const Caller = (): ParameterDecorator => hubParam(HubParamType.Caller);

/**
 * Injects the caller's connection id.
 *
 * @example
 * join(@ConnectionId() id: string, room: string) { return this.groups.addToGroup(id, room); }
 */
export const ConnectionId = (): ParameterDecorator => hubParam(HubParamType.ConnectionId);

/**
 * Injects the caller's user (what `authenticate` resolved).
 *
 * @example
 * whoAmI(@HubUser() user: { sub: string }) { return user.sub; }
 */
export const HubUser = (): ParameterDecorator => hubParam(HubParamType.User);

/**
 * Injects the `AbortSignal` of a streaming invocation: it fires when the client cancels the stream
 * (disposes its subscription) or the connection ends. It is `undefined` for a plain invocation. The
 * parameter takes no client argument.
 *
 * @example
 * async *counter(count: number, @StreamCancellation() signal: AbortSignal) {
 *   for (let i = 0; i < count && !signal.aborted; i++) { yield i; await delay(100, undefined, { signal }); }
 * }
 */
export const StreamCancellation = (): ParameterDecorator => hubParam(HubParamType.StreamCancellation);

/**
 * Marks a parameter as a client upload stream, as a `ChannelReader<T>`/`IAsyncEnumerable<T>` parameter
 * in ASP.NET Core: it binds only from the invocation's `streamIds` (in order among the upload
 * parameters), never from a sent argument, and the method reads it as an `AsyncIterable`. A client
 * that sends a plain value where the method takes a stream gets ASP.NET Core's binding error.
 *
 * @example
 * async shareFeed(room: string, @UploadStream() lines: AsyncIterable<string>) {
 *   for await (const line of lines) await this.clients.group(room).send('feedLine', line);
 * }
 * // client: connection.invoke('ShareFeed', 'lobby', subject)   (a Subject from @microsoft/signalr)
 */
export const UploadStream = (): ParameterDecorator => hubParam(HubParamType.Upload);

/** How a hub method's parameters bind, from its decorators and declared parameters. */
export interface HubParameterBinding {
  /** Arguments the client must send: parameters without a decorator. */
  parameterCount: number;
  /** Upload streams the client must send (`streamIds`): `@UploadStream()` parameters. */
  streamCount: number;
  /** Whether some parameters are filled by decorators rather than by position. */
  decorated: boolean;
  /** Whether TypeScript recorded the parameter types (it does only for decorated methods); pipes see them as `metatype`. */
  typed: boolean;
  /** Parameters decorated with a Nest HTTP or gateway parameter decorator, which hubs cannot fill: index and param type. */
  foreign: Array<{ index: number; type: number }>;
}

/** Kinds the hub decorators declare (Argument is never declared: it is what undecorated parameters get). */
const DECLARED_HUB_PARAM_TYPES = new Set<number>(Object.values(HubParamType).filter((type) => type !== HubParamType.Argument));

/**
 * Gives every parameter without a decorator a positional `Argument` entry and every `@UploadStream()`
 * parameter its index among the values (after the sent arguments), beside the other decorated ones,
 * and stores the result under HUB_PARAMS_METADATA.
 */
export function bindHubParameters(metatype: Function, prototype: object, methodName: string, handler: Function): HubParameterBinding {
  const declared = (Reflect.getMetadata(ROUTE_ARGS_METADATA, metatype, methodName) ?? {}) as Record<string, RouteArgRecord>;
  const paramtypes = Reflect.getMetadata('design:paramtypes', prototype, methodName) as unknown[] | undefined;
  const decoratedIndexes = new Set(Object.values(declared).map((entry) => entry.index));
  const total = Math.max(handler.length, paramtypes?.length ?? 0, ...[...decoratedIndexes].map((index) => index + 1));
  const merged: Record<string, RouteArgRecord> = {};
  const foreign: HubParameterBinding['foreign'] = [];
  const uploads: Array<[string, RouteArgRecord]> = [];
  for (const [key, entry] of Object.entries(declared)) {
    const type = routeArgType(key);
    if (type === HubParamType.Upload) uploads.push([key, entry]);
    else merged[key] = entry;
    // Nest's createParamDecorator keys hold CUSTOM_ROUTE_ARGS_METADATA; other numbers are HTTP or gateway kinds.
    if (!key.includes(CUSTOM_ROUTE_ARGS_METADATA) && !DECLARED_HUB_PARAM_TYPES.has(type)) foreign.push({ index: entry.index, type });
  }
  let position = 0;
  for (let index = 0; index < total; index++) {
    if (decoratedIndexes.has(index)) continue;
    merged[routeArgKey(HubParamType.Argument, index)] = { index, data: position++, pipes: [] };
  }
  // Uploads follow the sent arguments among the values, in parameter order.
  uploads.sort((a, b) => a[1].index - b[1].index);
  uploads.forEach(([key, entry], stream) => (merged[key] = { ...entry, data: position + stream }));
  Reflect.defineMetadata(HUB_PARAMS_METADATA, merged, metatype, methodName);
  foreign.sort((a, b) => a.index - b.index);
  return { parameterCount: position, streamCount: uploads.length, decorated: decoratedIndexes.size > 0, typed: paramtypes !== undefined, foreign };
}
