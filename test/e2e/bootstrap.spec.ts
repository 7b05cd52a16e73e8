import { LoggerService, ValidationPipe } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Hub, SignalRModule, type SignalRModuleOptions } from '../../src/index.js';
import { PerRequestService, ScopedDependencyHub } from '../fixtures/scoped.hub.js';
import { DuplicateMethodHub, FirstDuplicatePathHub, SecondDuplicatePathHub } from '../fixtures/duplicate.hubs.js';
import { AckHub, ConnectedSocketHub, GatewayHooksHub, MessageBodyHub, SubscribeMessageHub, UntypedPipesHub } from '../fixtures/hub-method-checks.hubs.js';
import { InvocationHub } from '../fixtures/invocation.hub.js';
import { createApp } from '../support/app.js';

/** Nest's warnings as `<context>: <message>`. */
function warningLogger(lines: string[]): LoggerService {
  const ignore = () => undefined;
  return {
    log: ignore,
    error: ignore,
    debug: ignore,
    verbose: ignore,
    fatal: ignore,
    warn: (message: unknown, context?: unknown) => lines.push(`${String(context)}: ${String(message)}`),
  };
}

/** Initialises and closes an app with the providers; returns the warnings logged meanwhile. */
async function bootstrap(providers: any[], globalPipe = false, options: SignalRModuleOptions = {}): Promise<string[]> {
  const moduleRef = await Test.createTestingModule({ imports: [SignalRModule.forRoot(options)], providers }).compile();
  const app = createApp(moduleRef);
  const warnings: string[] = [];
  app.useLogger(warningLogger(warnings));
  if (globalPipe) app.useGlobalPipes(new ValidationPipe());
  try {
    await app.init();
  } finally {
    await app.close();
    app.useLogger(false);
  }
  // Every @Hub() class of the process counts as one whose HubContext may be injected: not this test's subject.
  return warnings.filter((line) => !line.includes(': HubContext for '));
}

describe('bootstrap checks', () => {
  it('refuses two hubs on one path, compared case-insensitively', async () => {
    await expect(bootstrap([FirstDuplicatePathHub, SecondDuplicatePathHub])).rejects.toThrow(
      "Hub path '/HUBS/Dup' is used by both FirstDuplicatePathHub and SecondDuplicatePathHub. Each hub needs its own path.",
    );
  });

  it('refuses a connectionTokenSecret shorter than 32 bytes, and takes one of 32', async () => {
    await expect(bootstrap([InvocationHub], false, { connectionTokenSecret: 'x'.repeat(31) })).rejects.toThrow(
      'connectionTokenSecret must have at least 32 bytes; it has 31.',
    );
    await expect(bootstrap([InvocationHub], false, { connectionTokenSecret: Buffer.alloc(31) })).rejects.toThrow(
      'connectionTokenSecret must have at least 32 bytes; it has 31.',
    );
    expect(await bootstrap([InvocationHub], false, { connectionTokenSecret: 'é'.repeat(16) })).toEqual([]);
  });

  it('refuses two methods with one wire name', async () => {
    await expect(bootstrap([DuplicateMethodHub])).rejects.toThrow(
      "Hub DuplicateMethodHub has more than one method named 'SEND' (names are compared case-insensitively). Rename one with @HubMethodName().",
    );
  });

  it('refuses a hub that a request-scoped dependency would make scoped', async () => {
    await expect(bootstrap([ScopedDependencyHub, PerRequestService])).rejects.toThrow(
      'Hub ScopedDependencyHub is request-scoped or depends on a request-scoped provider; hubs must be singletons (the caller reaches methods through this.context).',
    );
  });

  it('refuses gateway parameter decorators on hub methods, saying what to use instead', async () => {
    await expect(bootstrap([MessageBodyHub])).rejects.toThrow(
      "Hub MessageBodyHub method 'send': parameter 0 has @MessageBody() (or @Body()), which hubs do not fill. Hub arguments bind by position without a decorator: remove it (pipes still see the argument).",
    );
    await expect(bootstrap([ConnectedSocketHub])).rejects.toThrow(
      "Hub ConnectedSocketHub method 'who': parameter 1 has @ConnectedSocket() (or @Req()), which hubs do not fill. Use @Caller() for the caller's HubCallerContext (this.context in a Hub).",
    );
    await expect(bootstrap([AckHub])).rejects.toThrow(
      "Hub AckHub method 'send': parameter 1 has @Ack(), which hubs do not fill. Return the result instead: the client's invoke() resolves with it.",
    );
  });

  it('refuses @SubscribeMessage() on a hub method, pointing to @HubMethodName()', async () => {
    await expect(bootstrap([SubscribeMessageHub])).rejects.toThrow(
      "Hub SubscribeMessageHub method 'send' has @SubscribeMessage('chat'), which hubs do not use: every public method of a hub is invocable by its own name. Remove it, or give the method another name on the wire with @HubMethodName('chat').",
    );
  });

  it('warns of public methods named like gateway hooks, except those marked @NotHubMethod()', async () => {
    expect(await bootstrap([GatewayHooksHub])).toEqual([
      "SignalR: Hub GatewayHooksHub has a public method 'handleConnection', named like a Nest gateway hook: hubs do not call it (use onConnected()), and clients can invoke it. Rename it, or mark it @NotHubMethod() to keep it off the wire.",
      "SignalR: Hub GatewayHooksHub has a public method 'afterInit', named like a Nest gateway hook: hubs do not call it (use onModuleInit()), and clients can invoke it. Rename it, or mark it @NotHubMethod() to keep it off the wire.",
    ]);
  });

  it('warns when pipes apply to hub methods whose parameter types were not recorded', async () => {
    const untyped =
      "SignalR: Hub UntypedPipesHub: pipes apply to its methods, but TypeScript recorded no parameter types for 'note' (it records them only for decorated methods, with emitDecoratorMetadata on), so pipes such as ValidationPipe get no metatype and skip their arguments. Give each a method decorator, e.g. @HubMethodName('note') on 'note'.";
    expect(await bootstrap([UntypedPipesHub])).toEqual([untyped]);
    // A global pipe applies to every hub: InvocationHub's undecorated methods with arguments are named.
    const global = await bootstrap([InvocationHub], true);
    expect(global).toHaveLength(1);
    expect(global[0]).toMatch(/^SignalR: Hub InvocationHub: pipes apply to its methods, but TypeScript recorded no parameter types for 'add', 'addLater', /);
    // Without pipes, nothing to warn about.
    expect(await bootstrap([InvocationHub])).toEqual([]);
  });

  it('refuses a hub without a path', () => {
    expect(() => Hub('  ')).toThrow('@Hub() needs the path the hub is served at.');
  });
});
