import type { ArgumentsHost } from '@nestjs/common';
import type { ExternalContextCreator } from '@nestjs/core';
import type { Server } from 'http';
import { FrameworkTexts } from '../signalr.messages.js';

// Every reach into Nest's or Fastify's internals sits in this file: what they keep under deep paths
// or private members, with no public equivalent. test/unit/framework-internals.spec.ts checks each
// against the installed versions, so an upgrade that moves one fails there, not in a user's app.
// The import rules (.dependency-cruiser.cjs) refuse deep framework imports anywhere else.

/**
 * The metadata keys Nest's own decorators write (`@UseGuards`, `@UsePipes`, `@UseInterceptors`,
 * `@UseFilters`, `createParamDecorator`) and its pipeline reads. The package root does not export
 * them; v11 has them at this deep path, v12 also under `@nestjs/common/internal`.
 */
export {
  CUSTOM_ROUTE_ARGS_METADATA,
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants';

/**
 * One parameter's record in Nest's route-args metadata, as its `assignMetadata` writes it and
 * ExternalContextCreator reads it: keyed `"<type>:<index>"` (see `routeArgKey`), `data` handed to
 * the params factory, `pipes` applied to the value.
 */
export interface RouteArgRecord {
  index: number;
  data?: unknown;
  pipes?: unknown[];
}

/** The key of a parameter's record: its kind, then its position. */
export function routeArgKey(type: number, index: number): string {
  return `${type}:${index}`;
}

/** The parameter kind a record's key names (for `createParamDecorator` keys, the kind before CUSTOM_ROUTE_ARGS_METADATA). */
export function routeArgType(key: string): number {
  return Number(key.slice(0, key.indexOf(':')));
}

/** The exception filters of one method (the method's, its class's, then the global ones), as Nest resolves them. */
export interface ExceptionFilterChain {
  /** What the first filter that catches `exception` returned; null or undefined when none catches it or it returned nothing. */
  invokeCustomFilters(exception: unknown, host: ArgumentsHost): unknown;
}

interface FiltersContextCreator {
  create(instance: object, callback: (...args: unknown[]) => unknown, moduleKey: string): ExceptionFilterChain;
}

/**
 * The filter chain `ExternalContextCreator` resolves for a method, from its private
 * `filtersContextCreator`. The public `create(..., { filters: true })` applies the same chain, but it
 * hands what no filter catches to Nest's fallback, which logs every error (expected HubExceptions
 * and guard refusals included, past our rate limits), and its result cannot tell a filter's answer
 * from the method's. So hubs run the pipeline without filters and apply this chain to its errors.
 */
export function exceptionFiltersOf(
  creator: ExternalContextCreator,
  instance: object,
  handler: (...args: unknown[]) => unknown,
  moduleKey: string,
): ExceptionFilterChain {
  const filters = (creator as unknown as { filtersContextCreator?: FiltersContextCreator }).filtersContextCreator;
  if (typeof filters?.create !== 'function') throw new Error(FrameworkTexts.internalMissing('ExternalContextCreator.filtersContextCreator'));
  return filters.create(instance, handler, moduleKey);
}

/** Where Fastify (v4 and v5) keeps the extra servers it binds when listening on 'localhost'; it has no public accessor. */
const FASTIFY_SERVER_BINDINGS = 'fastify.serverBindings';

/**
 * The extra HTTP servers a Fastify instance listens on besides its main one (one per further address
 * 'localhost' resolves to), or undefined when it has none. Read from a symbol Fastify keeps private.
 */
export function fastifyServerBindings(fastify: object): Server[] | undefined {
  const key = Object.getOwnPropertySymbols(fastify).find((symbol) => symbol.description === FASTIFY_SERVER_BINDINGS);
  const bindings = key === undefined ? undefined : (fastify as Record<symbol, unknown>)[key];
  return Array.isArray(bindings) ? (bindings as Server[]) : undefined;
}
