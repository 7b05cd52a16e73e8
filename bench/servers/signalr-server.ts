/*
 * nestjs-signalr under test: a minimal Nest app with one hub, built from this repo's sources. The same
 * server answers JSON and MessagePack clients. With REDIS_URL set, the Redis backplane is used.
 * BENCH_SEND_BUFFER overrides maximumSendBufferSize (bytes). BENCH_OTEL=1 registers the OpenTelemetry
 * SDK (metrics and traces on, see telemetry-sdk.ts) before the app is made; `metrics` or `traces`
 * registers only that signal, `sampled` both with 1 trace in 10 sampled. BENCH_TOKEN_SECRET sets
 * connectionTokenSecret (instances behind a proxy without affinity must share it).
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'net';
import { getHubContextToken, Hub, HubContext, SignalRModule } from '../../src/index.js';
import { redisBackplane } from '../../src/redis/index.js';
import { BenchServer, hostServer } from './host.js';
import { exportedSoFar, registerTelemetrySdk } from './telemetry-sdk.js';

let connections = 0;

@Hub('/hubs/bench')
class BenchHub extends Hub {
  onConnected() {
    connections++;
  }

  onDisconnected() {
    connections--;
  }

  Echo(value: unknown) {
    return value;
  }

  Join(group: string) {
    return this.groups.addToGroup(this.context.connectionId, group);
  }
}

function backplaneOption(): Record<string, unknown> {
  const url = process.env.REDIS_URL;
  if (!url) return {};
  return { backplane: redisBackplane({ url }) };
}

void hostServer(async (): Promise<BenchServer> => {
  const otel = process.env.BENCH_OTEL;
  if (otel !== undefined && otel !== '0') registerTelemetrySdk(otel === '1' ? 'on' : otel);
  const sendBuffer = process.env.BENCH_SEND_BUFFER ? Number(process.env.BENCH_SEND_BUFFER) : undefined;
  const tokenSecret = process.env.BENCH_TOKEN_SECRET;

  @Module({
    imports: [
      SignalRModule.forRoot({
        ...(sendBuffer ? { maximumSendBufferSize: sendBuffer } : {}),
        ...(tokenSecret ? { connectionTokenSecret: tokenSecret } : {}),
        ...backplaneOption(),
      }),
    ],
    providers: [BenchHub],
  })
  class BenchModule {}

  const app = await NestFactory.create(BenchModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const hub = app.get<HubContext>(getHubContextToken(BenchHub));
  return {
    port: (app.getHttpServer().address() as AddressInfo).port,
    broadcast: (payload) => void hub.clients.all.send('b', payload),
    sendToGroup: (group, payload) => void hub.clients.group(group).send('b', payload),
    connectionCount: () => connections,
    telemetry: exportedSoFar,
    close: () => app.close(),
  };
});
