import { HttpTransportType } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { Hub, SignalRModule } from '../../src/index.js';
import { startApp, TestApp } from '../support/app.js';
import { stopAll, buildClient } from '../support/client.js';

@Hub('/hubs/batching')
class BatchingHub extends Hub {
  static received: number[] = [];

  Record(value: number): void {
    BatchingHub.received.push(value);
  }

  Count(): number {
    return BatchingHub.received.length;
  }
}

/**
 * The official client queues what is sent while a send is in flight and writes the queue as one
 * WebSocket frame (its TransportSendQueue), so a burst of small messages arrives as one large frame.
 * Each message must fit the size limit; the frame as a whole is not refused.
 */
describe('Batched sends from the official client', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ imports: [SignalRModule.forRoot({})], providers: [BatchingHub] });
  });
  afterAll(async () => {
    await stopAll();
    await app.close();
  });

  it.each([
    ['JSON', undefined],
    ['MessagePack', () => new MessagePackHubProtocol()],
  ] as const)('receives 5,000 sends made in one tick, in order (%s)', async (_name, protocol) => {
    const client = protocol
      ? new HubConnectionBuilder()
          .withUrl(app.url('/hubs/batching'), { transport: HttpTransportType.WebSockets })
          .withHubProtocol(protocol())
          .configureLogging(LogLevel.None)
          .build()
      : buildClient(app.url('/hubs/batching'));
    await client.start();
    BatchingHub.received = [];
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 5000; i++) sends.push(client.send('Record', i));
    await Promise.all(sends);
    expect(await client.invoke('Count')).toBe(5000);
    expect(BatchingHub.received).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    await client.stop();
  });
});
