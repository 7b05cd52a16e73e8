'use strict';
/**
 * The Node floor under Nest 12, outside Jest (whose require(esm) needs Node 24.9): plain Node loads the
 * CommonJS sources (test/support/ts-register.js, as the child-process tests do), which `require()` the
 * ESM-only Nest 12, starts the sample app on a free port, and an official client reaches the chat hub
 * over each transport: it sends a message and gets it back. Exits 0 when all three round trips work.
 *
 * Usage (in the lane's scratch copy): node .ci/nest12/floor-smoke.js
 */
require('../../test/support/ts-register.js');
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const signalR = require('@microsoft/signalr');
const { AppModule } = require('../../sample/app.module.ts');

async function roundTrip(url, transport) {
  const connection = new signalR.HubConnectionBuilder().withUrl(url, { transport }).configureLogging(signalR.LogLevel.None).build();
  const received = new Promise((resolve, reject) => {
    connection.on('message', (user, text) => resolve(`${user}: ${text}`));
    setTimeout(() => reject(new Error(`no message back over ${signalR.HttpTransportType[transport]} in 10 s`)), 10_000).unref();
  });
  await connection.start();
  const text = `over ${signalR.HttpTransportType[transport]}`;
  await connection.invoke('SendMessage', text);
  const echoed = await received;
  await connection.stop();
  if (echoed !== `anonymous: ${text}`) throw new Error(`expected "anonymous: ${text}", got "${echoed}"`);
  return echoed;
}

async function main() {
  const nest = require('@nestjs/core/package.json').version;
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${app.getHttpServer().address().port}/hubs/chat`;
  try {
    for (const transport of [signalR.HttpTransportType.WebSockets, signalR.HttpTransportType.ServerSentEvents, signalR.HttpTransportType.LongPolling]) {
      console.log(`floor-smoke: node ${process.version}, @nestjs/core ${nest}: ${await roundTrip(url, transport)}`);
    }
  } finally {
    await app.close();
  }
}

main().catch((error) => {
  console.error(`floor-smoke: node ${process.version}: ${error && error.stack}`);
  process.exit(1);
});
