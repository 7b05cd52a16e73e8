import { INestApplication, ModuleMetadata } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { Test } from '@nestjs/testing';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo, Socket } from 'net';

/** The HTTP platforms the end-to-end tests run on; jest.config.js runs them once per platform. */
export type Platform = 'express' | 'fastify';

/** The platform of this run: SIGNALR_TEST_PLATFORM (set per Jest project), Express when unset. */
export const PLATFORM: Platform = readPlatform(process.env.SIGNALR_TEST_PLATFORM);

function readPlatform(value: string | undefined): Platform {
  if (value === undefined || value === '' || value === 'express') return 'express';
  if (value === 'fastify') return 'fastify';
  throw new Error(`SIGNALR_TEST_PLATFORM must be 'express' or 'fastify', not '${value}'.`);
}

/** A Nest app listening on a free port, with the base URL to reach it. */
export interface TestApp {
  app: INestApplication;
  baseUrl: string;
  url(path: string): string;
  close(): Promise<void>;
}

/** The Nest app of a compiled module on this run's platform (logger off), not yet initialised. */
export function createApp(moduleRef: TestingModule): INestApplication {
  return PLATFORM === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false }) : moduleRef.createNestApplication({ logger: false });
}

/** Every address the app listens on: Fastify binds each address of 'localhost' with a server of its own. */
export function boundAddresses(app: INestApplication): AddressInfo[] {
  if (PLATFORM === 'fastify') return (app.getHttpAdapter().getInstance() as { addresses(): AddressInfo[] }).addresses();
  return [app.getHttpServer().address() as AddressInfo];
}

/** Builds the app from module metadata on this run's platform, listens on port 0 and returns its URL. */
export async function startApp(metadata: ModuleMetadata, configure?: (app: INestApplication) => void | Promise<void>): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = createApp(moduleRef);
  const sockets = new Set<Socket>();
  app.getHttpServer().on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await configure?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const close = async () => {
    // Node's fetch can keep a pooled connection it opened for a request it then aborted (a long poll
    // the client stopped). Node counts a connection as busy until its first request arrives, so the
    // server's close would wait for the client to drop it: after the keep-alive time the server
    // advertises, 5 s on Express, 72 s on Fastify. Such a connection never reached the app.
    for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy();
    await app.close();
  };
  return { app, baseUrl, url: (path) => `${baseUrl}${path}`, close };
}
