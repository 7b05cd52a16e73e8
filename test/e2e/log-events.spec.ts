import { HttpTransportType, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { ConsoleLogger } from '@nestjs/common';
import { getHubContextToken, Hub, HubContext, SignalRModule } from '../../src/index.js';
import { SlowConsumerHub } from '../fixtures/backpressure.hubs.js';
import { startApp, TestApp } from '../support/app.js';
import { RawSocket, RS } from '../support/raw-socket.js';

@Hub('/hubs/logged')
class LoggedHub extends Hub {
  fail(): never {
    throw new Error('boom');
  }
}

/**
 * What Nest's ConsoleLogger writes to stdout and stderr while the tests run: it writes there itself,
 * so the real streams are tapped and every line kept (Jest reports through its own console, later).
 */
class OutputTap {
  readonly lines: string[] = [];
  private readonly originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  private waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];

  start(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const write = (chunk: string | Uint8Array): boolean => {
        for (const line of String(chunk).split('\n').filter(Boolean)) this.keep(line);
        return true;
      };
      process[stream].write = write;
    }
  }

  stop(): void {
    process.stdout.write = this.originals.stdout;
    process.stderr.write = this.originals.stderr;
  }

  /** The next line (or one already kept) that `match` accepts. */
  line(match: (line: string) => boolean): Promise<string> {
    const found = this.lines.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** The next JSON line whose message is the event `name`, parsed. */
  async event(name: string): Promise<any> {
    return JSON.parse(await this.line((line) => line.startsWith('{') && JSON.parse(line).message?.event === name));
  }

  private keep(line: string): void {
    this.lines.push(line);
    const ready = this.waiters.filter((waiter) => waiter.match(line));
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve(line);
  }
}

const authenticate = (request: { query: URLSearchParams }) => {
  const user = request.query.get('user');
  return user ? { sub: user } : undefined;
};

describe.each([
  ['json', true],
  ['plain', false],
])("the module's log lines through Nest's ConsoleLogger (%s)", (_mode, json) => {
  const tap = new OutputTap();
  let app: TestApp;

  beforeAll(async () => {
    tap.start();
    app = await startApp({ imports: [SignalRModule.forRoot({ authenticate })], providers: [LoggedHub, SlowConsumerHub] }, (nest) =>
      nest.useLogger(new ConsoleLogger({ json, colors: false })),
    );
  });
  afterAll(async () => {
    await app?.close();
    tap.stop();
  });

  it('a failed hub method: FailedInvokingHubMethod with hub, method, connection id, user and transport, and the stack', async () => {
    const client = new HubConnectionBuilder()
      .withUrl(app.url('/hubs/logged?user=ada'), { transport: HttpTransportType.WebSockets })
      .configureLogging(LogLevel.None)
      .build();
    await client.start();
    await expect(client.invoke('fail')).rejects.toThrow("An unexpected error occurred invoking 'fail' on the server.");
    const connectionId = client.connectionId!;
    await client.stop();
    if (json) {
      const line = await tap.event('FailedInvokingHubMethod');
      expect(line).toEqual({
        level: 'error',
        pid: process.pid,
        timestamp: expect.any(Number),
        message: {
          event: 'FailedInvokingHubMethod',
          text: "Failed to invoke hub method 'fail'.",
          hub: 'LoggedHub',
          method: 'fail',
          connectionId,
          user: 'ada',
          transport: 'WebSockets',
          error: 'Error: boom',
        },
        context: 'SignalR:LoggedHub',
        stack: expect.stringMatching(/^Error: boom\n\s+at LoggedHub\.fail /),
      });
    } else {
      const line = await tap.line((text) => text.includes('event=FailedInvokingHubMethod'));
      expect(line).toMatch(
        new RegExp(
          `^\\[Nest\\] ${process.pid} {2}- .+ {3}ERROR \\[SignalR:LoggedHub\\] Failed to invoke hub method 'fail'\\. ` +
            `\\[event=FailedInvokingHubMethod hub=LoggedHub method=fail connectionId=${connectionId} user=ada transport=WebSockets error="Error: boom"\\]$`,
        ),
      );
    }
  });

  it('a failed handshake: HandshakeFailed with hub, connection id, transport and the reason', async () => {
    const raw = await RawSocket.open(app.url('/hubs/logged'));
    raw.sendText(`{"protocol":"nope","version":1}${RS}`);
    expect((await raw.nextFrame()).data.toString()).toBe(`{"error":"The protocol 'nope' is not supported."}${RS}`);
    await raw.closed();
    if (json) {
      const line = await tap.event('HandshakeFailed');
      expect(line.level).toBe('debug');
      expect(line.context).toBe('SignalR');
      expect(line.message).toEqual({
        event: 'HandshakeFailed',
        text: expect.stringMatching(/^Handshake failed for connection [\w-]+: The protocol 'nope' is not supported\.$/),
        hub: 'LoggedHub',
        connectionId: expect.any(String),
        transport: 'WebSockets',
        error: "The protocol 'nope' is not supported.",
      });
      expect(line.message.text).toBe(`Handshake failed for connection ${line.message.connectionId}: The protocol 'nope' is not supported.`);
    } else {
      const line = await tap.line((text) => text.includes('event=HandshakeFailed'));
      expect(line).toMatch(
        /DEBUG \[SignalR\] Handshake failed for connection ([\w-]+): The protocol 'nope' is not supported\. \[event=HandshakeFailed hub=LoggedHub connectionId=\1 transport=WebSockets error="The protocol 'nope' is not supported\."\]$/,
      );
    }
  });

  it('a slow consumer closed: SlowConsumerClosed with hub, connection id, user and transport', async () => {
    const raw = await RawSocket.open(app.url('/hubs/backpressure/slow?user=bob'));
    raw.sendText(`{"protocol":"json","version":1}${RS}`);
    await raw.nextFrame();
    raw.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
    const { result: id } = await raw.nextMessage();
    raw.socket.pause();
    const hub = app.app.get(SlowConsumerHub);
    const context = app.app.get<HubContext>(getHubContextToken(SlowConsumerHub));
    const chunk = 'x'.repeat(16 * 1024);
    for (let sent = 0; !hub.lifecycle.disconnects.has(id) && sent < 4096; sent++) {
      await context.clients.client(id).send('chunk', sent, chunk);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    raw.socket.resume();
    await raw.closed();
    const text = `Closing slow connection ${id}: The connection's send buffer exceeded 65536 bytes.`;
    if (json) {
      const line = await tap.event('SlowConsumerClosed');
      expect(line.level).toBe('warn');
      expect(line.message).toEqual({ event: 'SlowConsumerClosed', text, hub: 'SlowConsumerHub', connectionId: id, user: 'bob', transport: 'WebSockets' });
    } else {
      const line = await tap.line((output) => output.includes('event=SlowConsumerClosed'));
      expect(line.endsWith(`WARN [SignalR] ${text} [event=SlowConsumerClosed hub=SlowConsumerHub connectionId=${id} user=bob transport=WebSockets]`)).toBe(
        true,
      );
    }
  });
});
