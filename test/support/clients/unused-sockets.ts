import type { Server, Socket } from 'net';

/**
 * Watches an app's server for TCP connections a client opened and never sent a byte on.
 *
 * Node's fetch (undici, behind @microsoft/signalr 6.x+ in Node) sometimes connects for a request that
 * the client aborts before writing it (long polling's stop aborts the pending poll and send), and
 * keeps that socket in its pool. Node's server.close() only ends idle connections, and one still
 * awaiting its first request counts as busy until headersTimeout (60 s) expires, so app.close()
 * would stall for a minute. Such a socket carries nothing of the hub's, so ending it is safe.
 */
export function watchUnusedSockets(server: Server): { destroyUnused(): number } {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    destroyUnused() {
      const unused = [...sockets].filter((socket) => socket.bytesRead === 0);
      for (const socket of unused) socket.destroy();
      return unused.length;
    },
  };
}
