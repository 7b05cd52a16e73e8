import { ArgumentsHost, CallHandler, CanActivate, Catch, ExceptionFilter, ExecutionContext, Injectable, NestInterceptor, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { tap } from 'rxjs';
import { Hub, HubException, HubMethodName, SignalRModule } from '../../src/index.js';
import { HubInvokerFactory } from '../../src/hub/hub-invoker.factory.js';
import { ClassEnhancedHub, CreateRoomDto, EnhancedHub, trail } from '../fixtures/enhanced.hub.js';
import { InvocationHub } from '../fixtures/invocation.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, nextCall, stopAll } from '../support/client.js';

const authenticate = (request: { query: URLSearchParams }) => {
  const roles = request.query.get('roles');
  return { sub: request.query.get('user') ?? 'anon', roles: roles ? roles.split(',') : [] };
};

describe('guards, pipes, interceptors and filters on hub methods', () => {
  let app: TestApp;
  const hub = (query = '') => app.url(`/hubs/enhanced${query}`);

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot({ authenticate })], providers: [EnhancedHub] });
  });
  beforeEach(() => {
    trail.length = 0;
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it('lets an admin through the roles guard and refuses others with the ASP.NET Core text', async () => {
    const admin = await connect(hub('?user=ada&roles=admin'));
    const announcement = nextCall(admin, 'announcement');
    await admin.invoke('AdminBroadcast', 'maintenance');
    expect(await announcement).toEqual(['maintenance']);
    expect(trail).toEqual(['guard:roles', 'before:class', 'handler', 'after:class']);

    const user = await connect(hub('?user=bob&roles=user'));
    await expect(user.invoke('AdminBroadcast', 'nope')).rejects.toThrow("Failed to invoke 'AdminBroadcast' because user is unauthorized");
    // A refused non-blocking call sends nothing and the connection carries on.
    await user.send('AdminBroadcast', 'nope');
    await expect(user.invoke('Plain', 1)).resolves.toBe(2);
  });

  it('gives ws-aware guards the ws context: type, caller as client, arguments as data', async () => {
    const client = await connect(hub());
    await expect(client.invoke('Shaped', 'ok')).resolves.toBe('OK');
    expect(trail[0]).toBe('guard:ws type=ws client=true data=["ok"]');
    await expect(client.invoke('Shaped', 'refuse')).rejects.toThrow("Failed to invoke 'Shaped' because user is unauthorized");
  });

  it('validates a DTO from the parameter type and reports the validation messages', async () => {
    const client = await connect(hub());
    await expect(client.invoke('CreateRoom', { name: 'lobby', capacity: 10 })).resolves.toEqual({ isDto: true, name: 'lobby', capacity: 10 });
    await expect(client.invoke('CreateRoom', { name: 'x', capacity: 99 })).rejects.toThrow(
      "An unexpected error occurred invoking 'CreateRoom' on the server. HubException: name must be longer than or equal to 3 characters, capacity must not be greater than 50",
    );
    expect(new CreateRoomDto()).toBeInstanceOf(CreateRoomDto);
  });

  it('runs interceptors around the method, class ones outside method ones, and uses what they return', async () => {
    const client = await connect(hub());
    await expect(client.invoke('Wrapped', 21)).resolves.toEqual({ wrapped: 42 });
    expect(trail).toEqual(['before:class', 'before:wrap', 'handler', 'after:class']);
  });

  it('lets an exception filter shape the error or answer with a value', async () => {
    const client = await connect(hub());
    await expect(client.invoke('Leaky', 'password123')).rejects.toThrow(
      "An unexpected error occurred invoking 'Leaky' on the server. HubException: shaped: 11 characters hidden",
    );
    expect(trail).toContain('filter:ws:1');
    await expect(client.invoke('Find', '42')).resolves.toEqual({ fallback: true });
    const unrelated = await client.invoke('Unrelated').catch((error: Error) => error.message);
    expect(unrelated).toBe("An unexpected error occurred invoking 'Unrelated' on the server.");
  });

  it('binds positional arguments around parameter decorators, custom ones included', async () => {
    const client = await connect(hub('?user=grace&room=blue'));
    await expect(client.invoke('WhoAmI', 'hello')).resolves.toEqual({
      sameId: true,
      text: 'hello',
      user: { sub: 'grace', roles: [] },
      room: 'blue',
    });
    await expect(client.invoke('WhoAmI', 'hello', 'extra')).rejects.toThrow("Failed to invoke 'WhoAmI' due to an error on the server.");
  });
});

describe('enhancers declared on the hub class', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers: [ClassEnhancedHub] });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it('applies the class guard, pipe and filter to every method', async () => {
    const client = await connect(app.url('/hubs/class-enhanced'));
    await expect(client.invoke('Echo', 'fine')).resolves.toBe('fine');
    await expect(client.invoke('Echo', 'refuse')).rejects.toThrow("Failed to invoke 'Echo' because user is unauthorized");
    await expect(client.invoke('CreateRoom', { name: 'lobby', capacity: 5 })).resolves.toBe(true);
    await expect(client.invoke('CreateRoom', { name: 'no', capacity: 5 })).rejects.toThrow(
      "An unexpected error occurred invoking 'CreateRoom' on the server. HubException: name must be longer than or equal to 3 characters",
    );
    await expect(client.invoke('Leak', 'abc')).rejects.toThrow(
      "An unexpected error occurred invoking 'Leak' on the server. HubException: shaped: 3 characters hidden",
    );
  });
});

/** Global enhancers, each observable from a hub method. */
export const globalTrail: string[] = [];

@Injectable()
class GlobalGuard implements CanActivate {
  canActivate(context: ExecutionContext) {
    globalTrail.push(`global guard ${context.getHandler().name}`);
    return context.switchToWs().getData<unknown[]>()[0] !== 'forbidden';
  }
}

@Injectable()
class GlobalInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler) {
    globalTrail.push('global interceptor');
    return next.handle().pipe(tap(() => globalTrail.push('global interceptor after')));
  }
}

class Teapot extends Error {}

@Catch(Teapot)
class GlobalFilter implements ExceptionFilter {
  catch(exception: Teapot, _host: ArgumentsHost) {
    throw new HubException(`global filter: ${exception.message}`);
  }
}

@Hub('/hubs/global')
class GlobalsHub {
  echo(value: string) {
    globalTrail.push('handler');
    if (value === 'teapot') throw new Teapot('short and stout');
    return value;
  }

  /** Decorated, so TypeScript records the DTO type that the global ValidationPipe reads. */
  @HubMethodName('Create')
  create(room: CreateRoomDto) {
    return room instanceof CreateRoomDto;
  }
}

describe('global enhancers (APP_GUARD, APP_PIPE, APP_INTERCEPTOR, APP_FILTER)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({
      imports: [SignalRModule.forRoot()],
      providers: [
        GlobalsHub,
        { provide: APP_GUARD, useClass: GlobalGuard },
        { provide: APP_INTERCEPTOR, useClass: GlobalInterceptor },
        { provide: APP_FILTER, useClass: GlobalFilter },
        { provide: APP_PIPE, useValue: new ValidationPipe({ transform: true }) },
      ],
    });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it('runs each global enhancer kind on hub methods, in Nest order', async () => {
    globalTrail.length = 0;
    const client = await connect(app.url('/hubs/global'));
    await expect(client.invoke('Echo', 'hi')).resolves.toBe('hi');
    expect(globalTrail).toEqual(['global guard echo', 'global interceptor', 'handler', 'global interceptor after']);
    await expect(client.invoke('Echo', 'forbidden')).rejects.toThrow("Failed to invoke 'Echo' because user is unauthorized");
    await expect(client.invoke('Echo', 'teapot')).rejects.toThrow(
      "An unexpected error occurred invoking 'Echo' on the server. HubException: global filter: short and stout",
    );
    await expect(client.invoke('Create', { name: 'ok-room', capacity: 2 })).resolves.toBe(true);
    await expect(client.invoke('Create', { name: 'ok-room', capacity: 'two' })).rejects.toThrow(
      "An unexpected error occurred invoking 'Create' on the server. HubException: capacity must not be greater than 50, capacity must be an integer number",
    );
  });
});

describe('the fast path', () => {
  it('calls a method with no enhancer anywhere directly, without building a pipeline', async () => {
    const create = jest.spyOn(HubInvokerFactory.prototype, 'create');
    const app = await startApp({ imports: [SignalRModule.forRoot()], providers: [InvocationHub] });
    try {
      const client = await connect(app.url('/hubs/invocation'));
      await expect(client.invoke('Add', 1, 2)).resolves.toBe(3);
      expect(create).not.toHaveBeenCalled();
    } finally {
      create.mockRestore();
      await stopAll();
      await app.close();
    }
  });
});
