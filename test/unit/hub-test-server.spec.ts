import { HubConnectionState } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { extractAccessToken, Hub, SignalRModule, type TransportName } from '../../src/index.js';
import { HubTestServer } from '../../src/testing/index.js';

@Hub('/hubs/greeter')
class GreeterHub extends Hub {
  greet(name: string) {
    return this.clients.all.send('greeting', `hello ${name}`, this.context.userIdentifier, this.context.transport);
  }
}

@Module({
  // The token is the user's id (where the official client puts it: header or query, by transport).
  imports: [SignalRModule.forRoot({ authenticate: (request) => (extractAccessToken(request) ? { sub: extractAccessToken(request) } : undefined) })],
  providers: [GreeterHub],
})
class GreeterModule {}

/** HubTestServer: an app on a free port, official clients over real sockets, and a clean close. */
describe('HubTestServer', () => {
  it.each<[TransportName, boolean]>([
    ['WebSockets', false],
    ['WebSockets', true],
    ['ServerSentEvents', false],
    ['LongPolling', false],
    ['LongPolling', true],
  ])('starts a module, connects over %s (MessagePack: %s), and close() stops the clients and the app', async (transport, messagePack) => {
    const server = await HubTestServer.start(GreeterModule);
    let client: Awaited<ReturnType<HubTestServer['connect']>> | undefined;
    try {
      client = await server.connect(GreeterHub, { transport, accessToken: 'ada', protocol: messagePack ? new MessagePackHubProtocol() : undefined });
      expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const received = new Promise((resolve) => client!.on('greeting', (...args) => resolve(args)));
      await client.invoke('greet', 'world');
      expect(await received).toEqual(['hello world', 'ada', transport]);
    } finally {
      await server.close();
    }
    expect(client.state).toBe(HubConnectionState.Disconnected);
    await expect(fetch(server.url('/hubs/greeter/negotiate'), { method: 'POST' })).rejects.toThrow('fetch failed');
  });

  it('starts a TestingModule, runs configure before listening, and hands out unstarted clients on request', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [GreeterModule] }).compile();
    const steps: string[] = [];
    const server = await HubTestServer.start(moduleRef, {
      configure: (app) => {
        steps.push(`configure, listening: ${app.getHttpServer().listening}`);
      },
    });
    try {
      expect(steps).toEqual(['configure, listening: false']);
      const client = await server.connect('/hubs/greeter', { start: false });
      expect(client.state).toBe(HubConnectionState.Disconnected);
      await client.start();
      const received = new Promise((resolve) => client.on('greeting', (...args) => resolve(args)));
      await client.invoke('greet', 'again');
      expect(await received).toEqual(['hello again', null, 'WebSockets']);
    } finally {
      await server.close();
    }
  });

  it('refuses a class that is not a hub', async () => {
    const server = await HubTestServer.start(GreeterModule);
    try {
      await expect(server.connect(GreeterModule)).rejects.toThrow('GreeterModule is not a hub: it has no @Hub() decorator.');
    } finally {
      await server.close();
    }
  });
});
