import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'net';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks(); // Ctrl+C closes every SignalR connection cleanly
  await app.listen(process.env.PORT || 3000); // no host: every interface
  const { port } = app.getHttpServer().address() as AddressInfo;
  const logger = new Logger('Sample');
  logger.log(`Chat, notifications and dashboard on http://localhost:${port}/ (hubs: /hubs/chat, /hubs/notifications, /hubs/dashboard)`);
  logger.log('Log in with POST /api/auth/login as ada/lovelace (admin), bob/builder or grace/hopper');
  if (!process.env.JWT_SECRET) logger.log('Tokens are signed with a random secret: they stop working on restart (set JWT_SECRET to keep them)');
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
