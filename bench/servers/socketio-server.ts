/*
 * Peer: Socket.IO 4 over WebSockets only (no polling, no compression), acks for echo, rooms for
 * groups, and with REDIS_URL set the official Redis adapter for the cluster rows.
 */
import { createServer } from 'http';
import type { AddressInfo } from 'net';
import { Server } from 'socket.io';
import { BenchServer, hostServer } from './host.js';

void hostServer(async (): Promise<BenchServer> => {
  const http = createServer();
  const io = new Server(http, {
    transports: ['websocket'],
    perMessageDeflate: false,
    httpCompression: false,
    serveClient: false,
  });
  const redisUrl = process.env.REDIS_URL;
  let redis: { quit(): Promise<unknown> }[] = [];
  if (redisUrl) {
    const { Redis } = require('ioredis');
    const { createAdapter } = require('@socket.io/redis-adapter');
    const pub = new Redis(redisUrl);
    const sub = pub.duplicate();
    redis = [pub, sub];
    io.adapter(createAdapter(pub, sub));
  }
  io.on('connection', (socket) => {
    socket.on('echo', (value: unknown, ack: (value: unknown) => void) => ack(value));
    socket.on('join', (room: string, ack: (value: unknown) => void) => {
      void socket.join(room);
      ack(1);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    broadcast: (payload) => io.emit('b', payload),
    sendToGroup: (group, payload) => io.to(group).emit('b', payload),
    connectionCount: () => io.engine.clientsCount,
    close: async () => {
      await new Promise<void>((resolve) => void io.close(() => resolve()));
      await Promise.all(redis.map((client) => client.quit().catch(() => undefined)));
    },
  };
});
