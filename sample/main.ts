import 'reflect-metadata';
// First: the OpenTelemetry MeterProvider must be registered before the Nest app is created.
import './telemetry/sample-telemetry.js';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'http';
import type { AddressInfo } from 'net';
import { AppModule } from './app.module.js';
import { portFromEnv, PortError } from './port.js';

async function bootstrap(): Promise<void> {
  const requested = portFromEnv(); // before anything starts: a bad PORT is the whole message
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks(); // Ctrl+C closes every SignalR connection cleanly
  try {
    await app.listen(requested); // no host: every interface
  } catch (error) {
    await app.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new PortError(`Port ${requested} is already in use: stop what listens there or set PORT to another port.`);
    throw error;
  }
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  const logger = new Logger('Sample');
  logger.log(`Chat, notifications and dashboard on http://localhost:${port}/ (hubs: /hubs/chat, /hubs/notifications, /hubs/dashboard)`);
  logger.log(`Prometheus metrics at http://localhost:${port}/metrics`);
  logger.log('Log in with POST /api/auth/login as ada/lovelace (admin), bob/builder or grace/hopper');
  if (!process.env.JWT_SECRET) logger.log('Tokens are signed with a random secret: they stop working on restart (set JWT_SECRET to keep them)');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof PortError ? error.message : error);
  process.exit(1);
});
