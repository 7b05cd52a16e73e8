/*
 * The NestJS peer: a gateway on @nestjs/platform-ws, as Nest users write it today. Handlers return
 * `{ event, data }`; broadcasts serialize once and send the string to every client; rooms are a
 * hand-rolled Map of Sets.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { MessageBody, ConnectedSocket, OnGatewayDisconnect, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { AddressInfo } from 'net';
import type { WebSocket, WebSocketServer as WsServer } from 'ws';
import { BenchServer, hostServer } from './host.js';

@WebSocketGateway({ path: '/ws', perMessageDeflate: false })
class BenchGateway implements OnGatewayDisconnect {
  @WebSocketServer() server!: WsServer;
  readonly rooms = new Map<string, Set<WebSocket>>();
  private readonly roomOf = new WeakMap<WebSocket, string>();

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return { event: 'echo', data };
  }

  @SubscribeMessage('join')
  join(@MessageBody() room: string, @ConnectedSocket() socket: WebSocket) {
    let members = this.rooms.get(room);
    if (members === undefined) this.rooms.set(room, (members = new Set()));
    members.add(socket);
    this.roomOf.set(socket, room);
    return { event: 'joined', data: 1 };
  }

  handleDisconnect(socket: WebSocket) {
    const room = this.roomOf.get(socket);
    if (room === undefined) return;
    const members = this.rooms.get(room);
    members?.delete(socket);
    if (members?.size === 0) this.rooms.delete(room);
  }
}

@Module({ providers: [BenchGateway] })
class BenchModule {}

void hostServer(async (): Promise<BenchServer> => {
  const app = await NestFactory.create(BenchModule, { logger: false });
  app.useWebSocketAdapter(new WsAdapter(app));
  await app.listen(0, '127.0.0.1');
  const gateway = app.get(BenchGateway);
  return {
    port: (app.getHttpServer().address() as AddressInfo).port,
    broadcast(payload) {
      const text = JSON.stringify({ event: 'b', data: payload });
      for (const socket of gateway.server.clients) socket.send(text);
    },
    sendToGroup(group, payload) {
      const members = gateway.rooms.get(group);
      if (members === undefined) return;
      const text = JSON.stringify({ event: 'b', data: payload });
      for (const socket of members) socket.send(text);
    },
    connectionCount: () => gateway.server.clients.size,
    close: () => app.close(),
  };
});
