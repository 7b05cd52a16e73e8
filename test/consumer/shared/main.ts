/*
 * Starts the app on a free port and, over each transport in turn, connects the official client,
 * invokes a hub method (checking its result and the broadcast it makes) and has a controller send
 * through HubContext. Then calls the hub in process through nestjs-signalr/testing. Prints one line
 * per check; any failure exits with code 1.
 */
import 'reflect-metadata';
import { HttpTransportType, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { typedConnection } from 'nestjs-signalr/client';
import { HubTestClient } from 'nestjs-signalr/testing';
import { AppModule, ChatHub } from './app.module.js';
import { importAndRequireShareOneCopy } from './one-copy.js';

const TRANSPORTS = [
  ['WebSockets', HttpTransportType.WebSockets],
  ['ServerSentEvents', HttpTransportType.ServerSentEvents],
  ['LongPolling', HttpTransportType.LongPolling],
] as const;

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error('consumer: no result within 30 s');
    process.exit(1);
  }, 30_000);

  await importAndRequireShareOneCopy();
  console.log('consumer: import and require load one copy of nestjs-signalr');

  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  try {
    for (const [name, transport] of TRANSPORTS) {
      const chat = typedConnection<ChatHub>(new HubConnectionBuilder().withUrl(`${url}/hubs/chat`, { transport }).configureLogging(LogLevel.Warning).build());
      const received: string[] = [];
      let onReceived: () => void = () => undefined;
      chat.on('receiveMessage', (user, text) => {
        received.push(`${user}: ${text}`);
        onReceived();
      });
      const twoReceived = new Promise<void>((resolve) => (onReceived = () => received.length === 2 && resolve()));

      await chat.connection.start();
      const reply = await chat.invoke('sendMessage', 'ada', `hello over ${name}`);
      expectEqual(reply, `ada said ${`hello over ${name}`.length} characters`, `${name}: SendMessage's result`);
      const response = await fetch(`${url}/announcements`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `announced over ${name}` }),
      });
      expectEqual(response.status, 201, `${name}: POST /announcements`);
      await twoReceived;
      expectEqual(received.join(' | '), `ada: hello over ${name} | server: announced over ${name}`, `${name}: messages received`);
      await chat.connection.stop();
      console.log(`consumer: ${name} ok`);
    }
  } finally {
    await app.close();
  }

  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const testApp = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await testApp.init();
  try {
    const ada = await HubTestClient.connect(testApp, ChatHub, { user: { sub: 'ada' } });
    expectEqual(await ada.invoke('sendMessage', 'ada', 'in process'), 'ada said 10 characters', "in process: SendMessage's result");
    expectEqual(JSON.stringify(ada.received('receiveMessage')), '[["ada","in process"]]', 'in process: messages received');
    console.log('consumer: nestjs-signalr/testing ok');
  } finally {
    await testApp.close();
    clearTimeout(deadline);
  }
}

main().catch((error: unknown) => {
  console.error('consumer: FAILED', error);
  process.exit(1);
});
