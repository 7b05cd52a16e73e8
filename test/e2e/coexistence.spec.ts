import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { SignalRModule } from '../../src/index.js';
import { BroadcastModule } from '../fixtures/broadcast.controller.js';
import { EchoHub } from '../fixtures/echo.hub.js';
import { ChatIoGateway } from '../fixtures/chat.io-gateway.js';
import { PingGateway } from '../fixtures/ping.gateway.js';
import { TargetsHub } from '../fixtures/targets.hub.js';
import { startApp } from '../support/app.js';
import { connect, stopAll } from '../support/client.js';
import { RawSocket } from '../support/raw-socket.js';

function gatewayRoundTrip(url: string, data: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'));
    socket.once('open', () => socket.send(JSON.stringify({ event: 'ping', data })));
    socket.once('message', (message: Buffer) => {
      socket.close();
      resolve(JSON.parse(message.toString()));
    });
    socket.once('error', reject);
  });
}

describe('hubs beside controllers and gateways on one server', () => {
  afterEach(() => stopAll());

  it('serves a hub, a controller and a @nestjs/platform-ws gateway on the same port', async () => {
    const app = await startApp({ imports: [SignalRModule.forRoot(), BroadcastModule], providers: [EchoHub, TargetsHub, PingGateway] }, (nest) => {
      nest.useWebSocketAdapter(new WsAdapter(nest));
    });
    try {
      const hello = await fetch(app.url('/broadcast/hello'));
      expect(hello.status).toBe(200);
      expect(await hello.json()).toEqual({ hello: 'world' });
      expect(await gatewayRoundTrip(app.url('/ws'), 'hi')).toEqual({ event: 'pong', data: 'hi' });
      const client = await connect(app.url('/hubs/echo'));
      await expect(client.invoke('Echo', 'still here')).resolves.toBe('still here');
      expect(await gatewayRoundTrip(app.url('/ws'), 'again')).toEqual({ event: 'pong', data: 'again' });
      const missing = await fetch(app.url('/nothing-here'));
      expect(missing.status).toBe(404);
    } finally {
      await stopAll();
      await app.close();
    }
  });

  it('serves a hub beside a socket.io gateway, over socket.io polling and WebSocket', async () => {
    const app = await startApp({ imports: [SignalRModule.forRoot()], providers: [EchoHub, ChatIoGateway] }, (nest) => {
      nest.useWebSocketAdapter(new IoAdapter(nest));
    });
    const socket = io(app.baseUrl, { transports: ['polling', 'websocket'], forceNew: true });
    try {
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
      const reply = (data: string) => new Promise((resolve) => socket.emit('ping', data, resolve));
      expect(await reply('one')).toBe('pong one');
      const client = await connect(app.url('/hubs/echo'));
      await expect(client.invoke('Echo', 'beside socket.io')).resolves.toBe('beside socket.io');
      // socket.io upgrades its polling session to a WebSocket on the same server.
      await new Promise<void>((resolve) => (socket.io.engine.transport.name === 'websocket' ? resolve() : socket.io.engine.once('upgrade', () => resolve())));
      expect(await reply('two')).toBe('pong two');
    } finally {
      socket.close();
      await stopAll();
      await app.close();
    }
  });

  it('leaves the global prefix off hub paths unless asked, like gateways', async () => {
    const app = await startApp({ imports: [SignalRModule.forRoot(), BroadcastModule], providers: [EchoHub, TargetsHub] }, (nest) => {
      nest.setGlobalPrefix('api');
    });
    try {
      expect((await fetch(app.url('/api/broadcast/hello'))).status).toBe(200);
      const client = await connect(app.url('/hubs/echo'));
      await expect(client.invoke('Echo', 1)).resolves.toBe(1);
      expect((await fetch(app.url('/api/hubs/echo/negotiate?negotiateVersion=1'), { method: 'POST' })).status).toBe(404);
    } finally {
      await stopAll();
      await app.close();
    }
  });

  it('honours the global prefix with useGlobalPrefix', async () => {
    const app = await startApp({ imports: [SignalRModule.forRoot({ useGlobalPrefix: true })], providers: [EchoHub] }, (nest) => {
      nest.setGlobalPrefix('/api/');
    });
    try {
      const client = await connect(app.url('/api/hubs/echo'));
      await expect(client.invoke('Echo', 'prefixed')).resolves.toBe('prefixed');
      expect((await fetch(app.url('/hubs/echo/negotiate?negotiateVersion=1'), { method: 'POST' })).status).toBe(404);
    } finally {
      await stopAll();
      await app.close();
    }
  });

  it('refuses an upgrade on a path nobody serves with 404 and keeps serving', async () => {
    const app = await startApp({ imports: [SignalRModule.forRoot()], providers: [EchoHub] });
    try {
      await expect(RawSocket.open(app.url('/not-a-hub'))).rejects.toMatchObject({ status: 404 });
      const client = await connect(app.url('/hubs/echo'));
      await expect(client.invoke('Echo', 'ok')).resolves.toBe('ok');
    } finally {
      await stopAll();
      await app.close();
    }
  });

  it("sits alone in front of the platform's server listeners and gives them back on close", async () => {
    let platform: { request: Function[]; upgrade: Function[] } = { request: [], upgrade: [] };
    const app = await startApp({ imports: [SignalRModule.forRoot(), BroadcastModule], providers: [EchoHub, TargetsHub] }, (nest) => {
      const server = nest.getHttpServer();
      platform = { request: server.listeners('request'), upgrade: server.listeners('upgrade') };
    });
    const server = app.app.getHttpServer();
    // The platform handles requests with one listener of its own and leaves upgrades alone.
    expect([platform.request.length, platform.upgrade.length]).toEqual([1, 0]);
    // While running, the router is the one listener for both, even after listen().
    const running = { request: server.listeners('request'), upgrade: server.listeners('upgrade') };
    expect([running.request.length, running.upgrade.length]).toEqual([1, 1]);
    expect(running.request[0]).not.toBe(platform.request[0]);
    await app.close();
    expect(server.listeners('request')).toEqual(platform.request);
    expect(server.listeners('upgrade')).toEqual([]);
  });
});
