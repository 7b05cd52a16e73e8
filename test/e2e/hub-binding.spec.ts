import { LoggerService } from '@nestjs/common';
import { Subject } from 'rxjs';
import { SignalRModule } from '../../src/index.js';
import { GatewayHooksHub, UntypedPipesHub } from '../fixtures/hub-method-checks.hubs.js';
import { InvocationHub } from '../fixtures/invocation.hub.js';
import { StreamUploadHub } from '../fixtures/stream-upload.hub.js';
import { startApp, TestApp } from '../support/app.js';
import { connect, stopAll } from '../support/client.js';
import { ClientCausedLogs } from '../../src/logging/rate-limited-log.js';

/** Each test asserts its own log lines: the process-wide limit on client-caused lines starts afresh. */
beforeEach(() => Object.values(ClientCausedLogs).forEach((log) => log.endWindow()));

/** Nest's log lines as `<level> <context>: <message>`. */
function lineLogger(lines: string[]): LoggerService {
  const push =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) =>
      lines.push(`${level} ${String(rest[rest.length - 1])}: ${String(message)}`);
  return { log: () => undefined, warn: push('warn'), error: push('error'), fatal: push('fatal'), debug: push('debug'), verbose: () => undefined };
}

/**
 * How client arguments bind to hub methods, as ASP.NET Core binds them: a stream parameter
 * (`@UploadStream()`) only from `streamIds`, the others only from `arguments`; a mismatch is
 * refused with ASP.NET Core's text and logged at debug level (InvalidHubParameters).
 */
describe('binding client arguments', () => {
  let app: TestApp;
  let detailed: TestApp;
  const logs: string[] = [];
  const providers = [InvocationHub, StreamUploadHub, GatewayHooksHub, UntypedPipesHub];

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot()], providers });
    detailed = await startApp({ imports: [SignalRModule.forRoot({ enableDetailedErrors: true })], providers });
    // Nest's logger is process-wide, and each app made it silent when created: hear both from here on.
    app.app.useLogger(lineLogger(logs));
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
    await detailed.close();
  });
  beforeEach(() => {
    logs.length = 0;
  });

  it('never binds a plain argument to a stream parameter (which would iterate the string)', async () => {
    const client = await connect(app.url('/hubs/stream-upload'));
    await expect(client.invoke('UploadWord', 'notastream')).rejects.toThrow(new Error("Failed to invoke 'UploadWord' due to an error on the server."));
    await expect(client.invoke('UploadWord')).rejects.toThrow(
      new Error("An unexpected error occurred invoking 'UploadWord' on the server. HubException: Client sent 0 stream(s), Hub method expects 1."),
    );
    // An argument and a stream, for a method that takes one argument before its two streams.
    await expect(client.invoke('JoinWith', '-', new Subject())).rejects.toThrow(
      new Error("An unexpected error occurred invoking 'JoinWith' on the server. HubException: Client sent 1 stream(s), Hub method expects 2."),
    );
    const detailedClient = await connect(detailed.url('/hubs/stream-upload'));
    await expect(detailedClient.invoke('UploadWord', 'notastream')).rejects.toThrow(
      new Error("Failed to invoke 'UploadWord' due to an error on the server. InvalidDataException: Invocation provides 1 argument(s) but target expects 0."),
    );
  });

  it('logs binding failures at debug level with the reason, as ASP.NET Core', async () => {
    const client = await connect(app.url('/hubs/invocation'));
    await expect(client.invoke('Add', 1)).rejects.toThrow(new Error("Failed to invoke 'Add' due to an error on the server."));
    await expect(client.invoke('add', 1, 2, new Subject())).rejects.toThrow(
      new Error("An unexpected error occurred invoking 'add' on the server. HubException: Client sent 1 stream(s), Hub method expects 0."),
    );
    const upload = await connect(app.url('/hubs/stream-upload'));
    await expect(upload.invoke('UploadWord', 'notastream')).rejects.toThrow(new Error("Failed to invoke 'UploadWord' due to an error on the server."));
    expect(logs).toEqual([
      "debug SignalR:InvocationHub: Parameters to hub method 'Add' are incorrect. InvalidDataException: Invocation provides 1 argument(s) but target expects 2.",
      "debug SignalR:InvocationHub: Parameters to hub method 'add' are incorrect. HubException: Client sent 1 stream(s), Hub method expects 0.",
      "debug SignalR:StreamUploadHub: Parameters to hub method 'UploadWord' are incorrect. InvalidDataException: Invocation provides 1 argument(s) but target expects 0.",
    ]);
  });

  it('keeps @NotHubMethod() methods off the wire; other hook-named methods stay invocable', async () => {
    const client = await connect(app.url('/hubs/gateway-hooks'));
    await expect(client.invoke('HandleDisconnect')).rejects.toThrow(
      new Error("Failed to invoke 'HandleDisconnect' due to an error on the server. HubException: Method does not exist."),
    );
    await expect(client.invoke('secret')).rejects.toThrow(
      new Error("Failed to invoke 'secret' due to an error on the server. HubException: Method does not exist."),
    );
    await expect(client.invoke('HandleConnection')).resolves.toBe('handled');
    await expect(client.invoke('Echo', 'still here')).resolves.toBe('still here');
  });

  it('validates a DTO only where its type was recorded (the case the bootstrap warns about)', async () => {
    const client = await connect(app.url('/hubs/untyped'));
    await expect(client.invoke('CheckedNote', { text: 'ab' })).rejects.toThrow(
      new Error("An unexpected error occurred invoking 'CheckedNote' on the server. HubException: text must be longer than or equal to 3 characters"),
    );
    await expect(client.invoke('CheckedNote', { text: 'abc' })).resolves.toBe('abc');
    // No decorator, no recorded type: ValidationPipe sees no metatype and lets it through.
    await expect(client.invoke('Note', { text: 'ab' })).resolves.toBe('ab');
  });
});
