import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection, type IHubProtocol } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { Hub, SignalRModule, TypedHubContext } from '../../src/index.js';
import type { DefaultHubLifetimeManager } from '../../src/lifetime/default-hub-lifetime-manager.js';
import { SignalRHubRegistry } from '../../src/signalr.registry.js';
import { ClientResultsModule } from '../fixtures/client-results-controller.js';
import { ClientResultsHub } from '../fixtures/client-results-hub.js';
import { startApp, TestApp } from '../support/app.js';
import { RawSocket } from '../support/raw-socket.js';

const HUB = '/hubs/client-results';

interface Variant {
  name: string;
  transport: HttpTransportType;
  protocol?: () => IHubProtocol;
}

const variants: Variant[] = [
  { name: 'WebSockets + JSON', transport: HttpTransportType.WebSockets },
  { name: 'Server-Sent Events + JSON', transport: HttpTransportType.ServerSentEvents },
  { name: 'Long Polling + JSON', transport: HttpTransportType.LongPolling },
  { name: 'WebSockets + MessagePack', transport: HttpTransportType.WebSockets, protocol: () => new MessagePackHubProtocol() },
];

const clients = new Set<HubConnection>();

/** An official client on the variant's transport and protocol, stopped in afterAll. */
function buildClient(url: string, variant: Variant): HubConnection {
  const builder = new HubConnectionBuilder().withUrl(url, { transport: variant.transport }).configureLogging(LogLevel.None);
  const connection = (variant.protocol ? builder.withHubProtocol(variant.protocol()) : builder).build();
  clients.add(connection);
  return connection;
}

describe('Client results (server invokes one client and awaits its answer)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot({}), ClientResultsModule], providers: [ClientResultsHub] });
  });
  afterAll(async () => {
    await Promise.all([...clients].map((connection) => connection.stop()));
    await app.close();
  });

  const pending = () => (app.app.get(SignalRHubRegistry).lifetimeFor(ClientResultsHub) as DefaultHubLifetimeManager).pendingClientResults;
  const ask = async (path: string, init?: RequestInit) => {
    const response = await fetch(app.url(path), init);
    expect(response.status).toBeLessThan(300);
    return response.text();
  };

  /** A started official client with the handlers every test uses; `hang` answers only when the test says so. */
  async function start(variant: Variant = variants[0], query = '') {
    const connection = buildClient(app.url(HUB + query), variant);
    const order: string[] = [];
    let answerHang: (value: unknown) => void = () => undefined;
    let entered: (args: unknown[]) => void = () => undefined;
    const hangEntered = new Promise<unknown[]>((resolve) => (entered = resolve));
    connection.on('GetValue', (arg: unknown) => ({ value: 42, arg }));
    connection.on('Throws', () => {
      throw new Error('from callback');
    });
    connection.on('Hang', (...args: unknown[]) => {
      entered(args);
      return new Promise((resolve) => (answerHang = resolve));
    });
    // Sends another invocation before answering, so it reaches the server ahead of the Completion.
    connection.on('Reenter', (arg: string) => {
      void connection.invoke('Echo', `queued after ${arg}`).then(
        (echo) => order.push(`echo: ${echo}`),
        (error: Error) => order.push(`echo failed: ${error.message}`),
      );
      return 'answered';
    });
    // Answers only after a hub invocation of its own completes: the waiting method must give its slot back.
    connection.on('AskBack', async (arg: string) => `got ${await connection.invoke('Echo', arg)}`);
    await connection.start();
    return { connection, id: connection.connectionId!, hangEntered, answerHang: (value: unknown) => answerHang(value), order };
  }

  describe.each(variants)('over $name', (variant) => {
    let client: Awaited<ReturnType<typeof start>>;
    beforeAll(async () => {
      client = await start(variant);
    });

    it('a hub method gets its caller’s result while it holds the caller’s only invocation slot', async () => {
      expect(await client.connection.invoke('AskCaller', 'GetValue', 'hi')).toBe('result: {"value":42,"arg":"hi"}');
      expect(pending()).toBe(0);
    });

    it('a controller gets a connection’s result through HubContext', async () => {
      expect(await ask(`/clientresult/${client.id}`)).toBe('result: {"value":42,"arg":"from-http"}');
      expect(pending()).toBe(0);
    });

    it('the client handler’s error reaches the hub as a HubException with the client’s text', async () => {
      expect(await client.connection.invoke('AskCaller', 'Throws', null)).toBe('HubException: Error: from callback');
      expect(pending()).toBe(0);
    });

    it('a client without a handler answers with an error', async () => {
      expect(await client.connection.invoke('AskCaller', 'NoSuchHandler', null)).toBe("HubException: Client didn't provide a result.");
      expect(pending()).toBe(0);
    });

    it('a method waiting for its caller gives the slot back: the caller’s next invocation runs meanwhile (as ASP.NET Core)', async () => {
      const answer = await client.connection.invoke('AskCaller', 'Reenter', 'r1');
      client.order.push(`ask: ${answer}`);
      await client.connection.invoke('Echo', 'barrier');
      expect(client.order).toEqual(['echo: queued after r1', 'ask: result: "answered"']);
      expect(pending()).toBe(0);
    });

    it('a client may invoke the hub before it answers, with one invocation slot (no deadlock)', async () => {
      expect(await client.connection.invoke('AskCaller', 'AskBack', 'x')).toBe('result: "got x"');
      // The slot went back once: the next invocations run one at a time as before.
      expect(await Promise.all([client.connection.invoke('Echo', 'a'), client.connection.invoke('Echo', 'b')])).toEqual(['a', 'b']);
      expect(pending()).toBe(0);
    });
  });

  it('rejects a connection that does not exist, from a hub and from HubContext', async () => {
    const { connection } = await start();
    expect(await connection.invoke('AskClient', 'x', 'GetValue')).toBe("IOException: Connection 'x' does not exist.");
    expect(await ask('/clientresult/nobody')).toBe("IOException: Connection 'nobody' does not exist.");
    expect(pending()).toBe(0);
  });

  it('rejects when the connection disconnects while the server waits', async () => {
    const { connection: asker } = await start();
    const target = await start();
    const outcome = asker.invoke('AskClient', target.id, 'Hang');
    await target.hangEntered;
    expect(pending()).toBe(1);
    await target.connection.stop();
    expect(await outcome).toBe(`IOException: Connection '${target.id}' disconnected.`);
    expect(pending()).toBe(0);
  });

  it('cancels through an AbortSignal (not sent as an argument) and ignores the late answer', async () => {
    const target = await start();
    const outcome = ask(`/clientresult/${target.id}/cancelable?method=Hang`);
    expect(await target.hangEntered).toEqual([]);
    expect(pending()).toBe(1);
    expect(await ask(`/clientresult/${target.id}/cancel`, { method: 'POST' })).toBe('canceled');
    expect(await outcome).toBe('Error: Invocation canceled by the server.');
    expect(pending()).toBe(0);
    target.answerHang('too late');
    // The late Completion changes nothing; the connection keeps answering new calls.
    expect(await target.connection.invoke('AskCaller', 'GetValue', 'after')).toBe('result: {"value":42,"arg":"after"}');
    expect(pending()).toBe(0);
  });

  it('refuses client results inside onConnected', async () => {
    const { connection } = await start(variants[0], '?probe=1');
    expect(await connection.invoke('OnConnectedOutcome')).toBe('Error: Client results inside OnConnectedAsync Hub methods are not allowed.');
    expect(pending()).toBe(0);
  });

  it('sends Invocation{invocationId: s<n>} and ignores a Completion from another connection', async () => {
    const target = await RawSocket.handshaken(app.url(HUB));
    const other = await RawSocket.handshaken(app.url(HUB));
    try {
      target.send({ type: 1, invocationId: '1', target: 'WhoAmI', arguments: [] });
      const id = (await target.nextMessage()).result as string;

      const first = ask(`/clientresult/${id}`);
      const invocation = await target.nextMessage();
      expect(invocation).toEqual({ type: 1, invocationId: expect.stringMatching(/^s\d+$/), target: 'GetValue', arguments: ['from-http'] });
      // Another connection answering for it is ignored; the call keeps waiting for its own connection.
      other.send({ type: 3, invocationId: invocation.invocationId, result: 'forged' });
      other.send({ type: 1, invocationId: '2', target: 'Echo', arguments: ['barrier'] });
      expect(await other.nextMessage()).toEqual({ type: 3, invocationId: '2', result: 'barrier' });
      expect(pending()).toBe(1);
      target.send({ type: 3, invocationId: invocation.invocationId, result: 7 });
      expect(await first).toBe('result: 7');

      const second = ask(`/clientresult/${id}`);
      const next = await target.nextMessage();
      expect(Number(next.invocationId.slice(1))).toBeGreaterThan(Number(invocation.invocationId.slice(1)));
      target.send({ type: 3, invocationId: next.invocationId, error: 'nope' });
      expect(await second).toBe('HubException: nope');
      expect(pending()).toBe(0);
    } finally {
      target.close();
      other.close();
    }
  });
});

interface ConfirmClient {
  confirm(question: string): void;
}
/** Compile-time only: `invoke` is on single-client targets, typed calls still type-check beside it. */
export function clientResultTypeChecks(hub: Hub<ConfirmClient>, context: TypedHubContext<ConfirmClient>): void {
  const answer: Promise<boolean> = hub.clients.caller.invoke<boolean>('confirm', 'Delete?', AbortSignal.timeout(1000));
  const untypedAnswer: Promise<unknown> = context.clients.client('id').invoke('confirm', 'Delete?');
  void [answer, untypedAnswer];
  void hub.clients.caller.confirm('still typed');
  void context.clients.client('id').confirm('still typed');
  // @ts-expect-error typed calls keep their argument types
  void hub.clients.caller.confirm(1);
  // @ts-expect-error a result needs exactly one connection
  void hub.clients.all.invoke('confirm');
  // @ts-expect-error not even a group of one
  void context.clients.group('g').invoke('confirm');
}
