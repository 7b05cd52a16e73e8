import 'reflect-metadata';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { createServer, Server as HttpsServer } from 'https';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import { generate } from 'selfsigned';
import { configureConformanceApp, ConformanceModule } from './conformance.module.js';

const HOST = '127.0.0.1';

/**
 * `npm run conformance:server`: the conformance app on 127.0.0.1, on a free port unless PORT says
 * which, on Express (PLATFORM=fastify for Fastify), in memory or, with REDIS_URL, on the Redis
 * backplane. With HTTPS=1 it also listens on HTTPS (a free
 * port, or HTTPS_PORT) with a self-signed certificate made at start. One line per listener, the
 * HTTPS one first, as the ASP.NET Core app prints them.
 */
async function bootstrap(): Promise<void> {
  const logger = process.env.LOG === '1' ? undefined : (['error', 'warn'] as const);
  // With REDIS_URL, instances on one Redis form one cluster (the Redis backplane).
  const module = ConformanceModule.forRoot({ redisUrl: process.env.REDIS_URL || undefined });
  // SignalR's own shutdown closes hub and /echo connections first; then the HTTP server drops what
  // is left (a client's pooled keep-alive sockets) instead of waiting for them to time out.
  const app: INestApplication =
    process.env.PLATFORM === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter({ forceCloseConnections: true }), { logger: logger && [...logger] })
      : await NestFactory.create(module, { logger: logger && [...logger], forceCloseConnections: true });
  app.enableShutdownHooks();
  await configureConformanceApp(app);
  await app.listen(Number(process.env.PORT ?? 0), HOST);
  const server = app.getHttpServer() as Server;
  const lines = [`Now listening on: http://${HOST}:${(server.address() as AddressInfo).port}`];
  if (process.env.HTTPS === '1') {
    const https = await listenHttps(server);
    lines.unshift(`Now listening on: https://${HOST}:${(https.address() as AddressInfo).port}`);
    server.once('close', () => https.close());
    app.getHttpServer().once('close', () => https.closeAllConnections());
  }
  for (const line of lines) console.log(line);
}

/** An HTTPS listener that hands every request and upgrade to the app's HTTP server, so hubs, `/echo` and controllers serve both. */
async function listenHttps(server: Server): Promise<HttpsServer> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: HOST },
        ],
      },
    ],
  });
  const https = createServer({ key: pems.private, cert: pems.cert });
  https.on('request', (req, res) => server.emit('request', req, res));
  https.on('upgrade', (req, socket, head) => server.emit('upgrade', req, socket, head));
  await new Promise<void>((resolve) => https.listen(Number(process.env.HTTPS_PORT ?? 0), HOST, resolve));
  return https;
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
