import dns from 'dns';
import { readFileSync } from 'fs';
import {
  ArgumentsHost,
  Catch,
  createParamDecorator,
  ExceptionFilter,
  Injectable,
  Module,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { ExternalContextCreator } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import fastify from 'fastify';
import {
  CUSTOM_ROUTE_ARGS_METADATA,
  EXCEPTION_FILTERS_METADATA,
  exceptionFiltersOf,
  fastifyServerBindings,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
  routeArgKey,
  routeArgType,
} from '../../src/platforms/framework-internals.js';
import { HubExecutionContext } from '../../src/hub/hub-execution-context.js';

// Each test pins one reach into a framework's internals (src/platforms/framework-internals.ts) to
// what the installed release does, so an upgrade that moves it fails here.

class Guard {
  canActivate() {
    return true;
  }
}
class Interceptor {
  intercept() {
    return undefined;
  }
}
class Pipe {
  transform(value: unknown) {
    return value;
  }
}
/** What the filter chain answers when no filter catches: null up to Nest 11, undefined from Nest 12 on. */
const NEST_MAJOR = Number(JSON.parse(readFileSync(require.resolve('@nestjs/core/package.json'), 'utf8')).version.split('.')[0]);
const NO_FILTER = NEST_MAJOR >= 12 ? undefined : null;

const Custom = createParamDecorator(() => 'custom');

class Secret extends Error {}
class Missing extends Error {}

@Catch(Secret)
class MethodFilter implements ExceptionFilter {
  catch(exception: Secret, host: ArgumentsHost) {
    return `method:${exception.message}:${host.getType()}:${host.switchToWs().getPattern()}`;
  }
}

@Catch()
class ClassFilter implements ExceptionFilter {
  catch(exception: Error) {
    return exception instanceof Missing ? undefined : `class:${exception.message}`;
  }
}

@Injectable()
@UseFilters(ClassFilter)
class Decorated {
  @UseGuards(Guard)
  @UsePipes(Pipe)
  @UseInterceptors(Interceptor)
  @UseFilters(MethodFilter)
  handle(@Custom() _value: unknown): string {
    return 'handled';
  }

  plain(): string {
    return 'plain';
  }
}

@Module({ providers: [Decorated] })
class DecoratedModule {}

describe('framework internals', () => {
  it("Nest's enhancer decorators write under the metadata keys the hub pipeline reads", () => {
    const handler = Decorated.prototype.handle;
    expect(Reflect.getMetadata(GUARDS_METADATA, handler)).toEqual([Guard]);
    expect(Reflect.getMetadata(PIPES_METADATA, handler)).toEqual([Pipe]);
    expect(Reflect.getMetadata(INTERCEPTORS_METADATA, handler)).toEqual([Interceptor]);
    expect(Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, handler)).toEqual([MethodFilter]);
    expect(Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, Decorated)).toEqual([ClassFilter]);
  });

  it('createParamDecorator records its parameters under ROUTE_ARGS_METADATA, keyed with CUSTOM_ROUTE_ARGS_METADATA', () => {
    const params = Reflect.getMetadata(ROUTE_ARGS_METADATA, Decorated, 'handle') as Record<string, { index: number }>;
    const keys = Object.keys(params);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toContain(CUSTOM_ROUTE_ARGS_METADATA);
    expect(keys[0]).toMatch(/:0$/);
    expect(params[keys[0]].index).toBe(0);
  });

  it('ExternalContextCreator hands each "<type>:<index>" route-arg record to the params factory, with its data', async () => {
    const moduleRef = await Test.createTestingModule({}).compile();
    const app = await moduleRef.createNestApplication().init();
    try {
      const KEY = 'framework-internals:params';
      class Target {
        handle(first: unknown, second: unknown) {
          return [first, second];
        }
      }
      Reflect.defineMetadata(
        KEY,
        { [routeArgKey(7, 1)]: { index: 1, data: 'second', pipes: [] }, [routeArgKey(9, 0)]: { index: 0, data: 'first', pipes: [] } },
        Target,
        'handle',
      );
      const factory = {
        exchangeKeyForValue: (type: number, data: unknown, args: unknown[]) => `${type}/${String(data)}/${String(args[0])}`,
      };
      const instance = new Target();
      const call = app
        .get(ExternalContextCreator)
        .create(instance, instance.handle, 'handle', KEY, factory, undefined, undefined, { guards: false, interceptors: false, filters: false }, 'ws');
      expect(await call('x')).toEqual(['9/first/x', '7/second/x']);
      expect(routeArgType(routeArgKey(7, 1))).toBe(7);
    } finally {
      await app.close();
    }
  });

  it("ExternalContextCreator's filter chain picks the method's filter, then the class's, then the global one, and answers null (Nest 12: undefined) for none", async () => {
    const moduleRef = await Test.createTestingModule({ imports: [DecoratedModule] }).compile();
    const app = moduleRef.createNestApplication();
    @Catch(Missing)
    class GlobalFilter implements ExceptionFilter {
      catch() {
        return 'global';
      }
    }
    app.useGlobalFilters(new GlobalFilter());
    await app.init();
    try {
      const creator = app.get(ExternalContextCreator);
      const instance = app.get(Decorated);
      const moduleKey = creator.getContextModuleKey(DecoratedModule);
      const filters = exceptionFiltersOf(creator, instance, instance.handle, moduleKey);
      const host = new HubExecutionContext([{}, [1], 'handle'], 'ws', Decorated, instance.handle);
      expect(filters.invokeCustomFilters(new Secret('a'), host)).toBe('method:a:ws:handle');
      expect(filters.invokeCustomFilters(new Error('b'), host)).toBe('class:b');
      // The class filter catches everything but returns nothing for a Missing: the chain stops there, as Nest's does.
      expect(filters.invokeCustomFilters(new Missing('c'), host)).toBeUndefined();

      const plainFilters = exceptionFiltersOf(creator, {}, instance.plain, moduleKey);
      expect(plainFilters.invokeCustomFilters(new Missing('d'), host)).toBe('global');
      expect(plainFilters.invokeCustomFilters(new Secret('e'), host)).toBe(NO_FILTER);
    } finally {
      await app.close();
    }
  });

  it('refuses clearly when ExternalContextCreator has no filter resolver', () => {
    expect(() => exceptionFiltersOf({} as ExternalContextCreator, {}, () => undefined, '')).toThrow(
      'nestjs-signalr relies on ExternalContextCreator.filtersContextCreator, which the installed framework version no longer has.',
    );
  });

  it("Fastify keeps the extra servers it binds for 'localhost' under its serverBindings symbol", async () => {
    const app = fastify();
    expect(fastifyServerBindings(app)).toEqual([]);
    // 'localhost' resolving to two addresses, as on most machines, makes Fastify bind a second server.
    const lookup = dns.lookup;
    const spy = jest.spyOn(dns, 'lookup').mockImplementation((host: string, options: unknown, callback?: (...args: unknown[]) => void) => {
      if (host !== 'localhost') return (lookup as (...args: unknown[]) => void)(host, options, callback);
      const done = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
      const both = [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ];
      if (typeof options === 'object' && options !== null && (options as { all?: boolean }).all) process.nextTick(done, null, both);
      else process.nextTick(done, null, both[0].address, both[0].family);
    });
    try {
      await app.listen({ port: 0, host: 'localhost' });
    } finally {
      spy.mockRestore();
    }
    try {
      const bindings = fastifyServerBindings(app)!;
      expect(bindings).toHaveLength(1);
      expect(bindings[0]).not.toBe(app.server);
      expect(bindings[0].listening).toBe(true);
      expect(bindings[0].address()).toMatchObject({ address: '::1', port: (app.server.address() as { port: number }).port });
    } finally {
      await app.close();
    }
  });
});
