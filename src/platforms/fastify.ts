import type { HttpServer } from '@nestjs/common';
import type { IncomingMessage, Server, ServerResponse } from 'http';
import { fastifyServerBindings } from './framework-internals.js';

/** The few members of a Fastify instance used here (Fastify itself is not a dependency). */
interface FastifyLike {
  addHook(name: 'onListen', hook: (done: () => void) => void): unknown;
}

/**
 * Fastify listening on 'localhost' (its default host, so Nest's `app.listen(port)`) binds every
 * address localhost resolves to, 127.0.0.1 and ::1, each extra one with a server of its own that
 * calls Fastify's handler directly. Only the main server (`getHttpServer()`) has the hub router in
 * front, so a hub request on the other address got Fastify's 404. Fastify already forwards those
 * servers' upgrades to the main server; this forwards their requests as well, once they listen.
 * Does nothing on other platforms.
 */
export function forwardFastifyBindings(adapter: HttpServer | undefined, main: Server): void {
  if (adapter?.getType() !== 'fastify') return;
  const fastify = adapter.getInstance() as FastifyLike;
  const forward = (): void => {
    for (const server of fastifyServerBindings(fastify) ?? []) {
      if (server === main) continue;
      server.removeAllListeners('request');
      server.on('request', (req: IncomingMessage, res: ServerResponse) => main.emit('request', req, res));
    }
  };
  try {
    fastify.addHook('onListen', (done) => {
      forward();
      done();
    });
  } catch {
    // Fastify refuses hooks once started: it may be listening already.
    forward();
  }
}
