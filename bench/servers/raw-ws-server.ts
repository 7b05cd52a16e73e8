/*
 * Baseline: a plain `ws` server. Broadcasts serialize once and send the same Buffer to every socket
 * (the limit for Node without hand-framing); echo parses and re-serializes JSON (the work a hub
 * protocol cannot avoid); rooms are a Map of Sets.
 */
import { createServer } from 'http';
import type { AddressInfo } from 'net';
import { WebSocket, WebSocketServer } from 'ws';
import { BenchServer, hostServer } from './host.js';

const JOINED = Buffer.from('{"joined":1}');

void hostServer(async (): Promise<BenchServer> => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  const rooms = new Map<string, Set<WebSocket>>();
  wss.on('connection', (socket) => {
    let room: string | null = null;
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString());
      if (typeof message.join === 'string') {
        room = message.join as string;
        let members = rooms.get(room);
        if (members === undefined) rooms.set(room, (members = new Set()));
        members.add(socket);
        socket.send(JOINED);
        return;
      }
      socket.send(Buffer.from(JSON.stringify(message)));
    });
    socket.on('close', () => {
      if (room === null) return;
      const members = rooms.get(room);
      members?.delete(socket);
      if (members?.size === 0) rooms.delete(room);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    broadcast(payload) {
      const bytes = Buffer.from(JSON.stringify(payload));
      for (const socket of wss.clients) socket.send(bytes);
    },
    sendToGroup(group, payload) {
      const members = rooms.get(group);
      if (members === undefined) return;
      const bytes = Buffer.from(JSON.stringify(payload));
      for (const socket of members) socket.send(bytes);
    },
    connectionCount: () => wss.clients.size,
    close: () =>
      new Promise((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => http.close(() => resolve()));
      }),
  };
});
