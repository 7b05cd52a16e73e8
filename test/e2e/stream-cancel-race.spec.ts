import { HubMessage, IHubProtocol, JsonHubProtocol, LogLevel, MessageType, NullLogger, TransferFormat } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import type { IConnection } from '@microsoft/signalr/dist/esm/IConnection';
import { SignalRModule } from '../../src/index.js';
import { HttpConnection, startConformanceApp, VARIANTS, type Variant } from '../conformance/official-client.js';
import { StreamCancelHub } from '../fixtures/stream-cancel.hub.js';
import { startApp, type TestApp } from '../support/app.js';
import { connect, nextCall, stopAll } from '../support/client.js';
import { Wakeup } from '../support/wait.js';

const ROUNDS = 100;
const HANDSHAKE_END = 0x1e;

/**
 * The official client's transport (HttpConnection) speaking the hub protocol by hand, so a
 * StreamInvocation and its CancelInvocation go out in one frame (one POST body on SSE and Long
 * Polling), which the official HubConnection never does.
 */
class RawHubClient {
  private readonly records: HubMessage[] = [];
  private readonly arrivals = new Wakeup();
  private handshaken = false;
  private closedWith: Error | undefined | null = null;

  private constructor(
    private readonly connection: IConnection,
    readonly protocol: IHubProtocol,
  ) {
    connection.onreceive = (data) => this.receive(data);
    connection.onclose = (error) => {
      this.closedWith = error;
      this.arrivals.wake();
    };
  }

  static async start(url: string, variant: Variant): Promise<RawHubClient> {
    const protocol = variant.protocolName === 'json' ? new JsonHubProtocol() : new MessagePackHubProtocol();
    const client = new RawHubClient(new HttpConnection(url, { logger: LogLevel.None, transport: variant.transport }), protocol);
    await client.connection.start(protocol.transferFormat);
    const handshake = `{"protocol":"${protocol.name}","version":1}\u001e`;
    await client.connection.send(protocol.transferFormat === TransferFormat.Text ? handshake : new TextEncoder().encode(handshake).buffer);
    await client.until(() => client.handshaken);
    return client;
  }

  /** Sends the messages as one frame (one POST body). */
  send(...messages: HubMessage[]): Promise<void> {
    const encoded = messages.map((message) => this.protocol.writeMessage(message));
    if (this.protocol.transferFormat === TransferFormat.Text) return this.connection.send((encoded as string[]).join(''));
    const bytes = Buffer.concat(encoded.map((part) => Buffer.from(part as ArrayBuffer)));
    return this.connection.send(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  }

  /**
   * Removes and returns the received records other than pings once `count` of them arrived, or
   * what arrived within `timeoutMs` (so a missing record fails the round instead of hanging the test).
   */
  async take(count: number, timeoutMs = 2_000): Promise<HubMessage[]> {
    let timer: NodeJS.Timeout | undefined;
    let expired = false;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        expired = true;
        this.arrivals.wake();
        resolve();
      }, timeoutMs);
    });
    try {
      await Promise.race([this.until(() => expired || this.records.length >= count), deadline]);
    } finally {
      clearTimeout(timer);
    }
    return this.records.splice(0, count);
  }

  stop(): Promise<void> {
    return this.connection.stop();
  }

  private receive(data: string | ArrayBuffer): void {
    let payload = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    if (!this.handshaken) {
      const end = payload.indexOf(HANDSHAKE_END);
      if (payload.subarray(0, end + 1).toString() !== '{}\u001e') throw new Error(`handshake failed: ${payload.toString()}`);
      this.handshaken = true;
      payload = payload.subarray(end + 1);
    }
    if (payload.length > 0) {
      const input =
        this.protocol.transferFormat === TransferFormat.Text
          ? payload.toString()
          : payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length);
      for (const message of this.protocol.parseMessages(input, NullLogger.instance)) {
        if (message.type !== MessageType.Ping) this.records.push(message);
      }
    }
    this.arrivals.wake();
  }

  private async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.closedWith !== null) throw new Error(`connection closed: ${String(this.closedWith)}`);
      await this.arrivals.next();
    }
  }
}

/** What a round got back, without the protocol's incidental fields (MessagePack's empty headers). */
function summary(message: HubMessage): object {
  if (message.type === MessageType.Completion) return { type: message.type, invocationId: message.invocationId, error: message.error };
  if (message.type === MessageType.Invocation) return { type: message.type, target: message.target, arguments: message.arguments };
  return { type: message.type };
}

/**
 * The official spec "can stream server method and cancel stream" sends StreamInvocation and
 * CancelInvocation back to back; when both arrive in one frame, the cancel must not overtake the
 * call of the stream method (which runs through Nest's pipeline: it has @StreamCancellation()), so
 * the method's cancellation fires every time, as in ASP.NET Core.
 */
describe('A stream cancelled in the frame that starts it', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startConformanceApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it.each(VARIANTS.map((variant) => [variant.name, variant] as const))(
    `over %s: InfiniteStream says StreamCanceled in each of ${ROUNDS} rounds`,
    async (_name, variant) => {
      const client = await RawHubClient.start(app.url('/testhub'), variant);
      try {
        const outcomes: object[][] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const invocationId = String(round);
          await client.send(
            { type: MessageType.StreamInvocation, invocationId, target: 'InfiniteStream', arguments: [], streamIds: [] },
            { type: MessageType.CancelInvocation, invocationId },
          );
          const outcome = (await client.take(2)).map(summary);
          outcomes.push(outcome);
          if (outcome.length < 2) break; // this round's StreamCanceled never came: later rounds would only repeat it
        }
        const expected = Array.from({ length: ROUNDS }, (_, round) => [
          { type: MessageType.Completion, invocationId: String(round), error: undefined },
          { type: MessageType.Invocation, target: 'StreamCanceled', arguments: [] },
        ]);
        expect(outcomes).toEqual(expected);
      } finally {
        await client.stop();
      }
    },
    60_000,
  );
});

/**
 * With one invocation slot, a stream method that awaits a client result before returning its stream
 * holds the slot, and a cancel sent meanwhile holds the dispatch: the client's answer still gets
 * through (it never queues), the stream starts and is cancelled, and the slot comes back.
 */
describe('A stream cancelled while its method awaits a client result (maximumParallelInvocationsPerClient 1)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot({ maximumParallelInvocationsPerClient: 1 })], providers: [StreamCancelHub] });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it('answers the client result, says StreamCanceled, and serves the next invocation', async () => {
    const client = await connect(app.url('/hubs/stream-cancel'));
    let asked!: () => void;
    const wasAsked = new Promise<void>((resolve) => (asked = resolve));
    let answer!: (value: string) => void;
    client.on('Confirm', () => {
      asked();
      return new Promise<string>((resolve) => (answer = resolve));
    });
    const canceled = nextCall(client, 'StreamCanceled');
    const items: unknown[] = [];
    const subscription = client.stream('AskThenStream').subscribe({ next: (item) => items.push(item), error: () => undefined, complete: () => undefined });
    await wasAsked;
    subscription.dispose(); // the CancelInvocation arrives while the method still awaits the answer
    answer('confirmed');
    expect(await canceled).toEqual(['confirmed']);
    await expect(client.invoke('Echo', 'next')).resolves.toBe('next');
    expect(items).toEqual([]);
  });
});
