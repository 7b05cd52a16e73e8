/*
 * The server the fuzzer attacks: a Nest app (Express, or Fastify with SIGNALR_TEST_PLATFORM=fastify)
 * with one hub at /hubs/fuzz and the raw echo connection handler at /echo, in a process of its own
 * (started with --expose-gc) so that its memory can be measured and its death seen. It answers the
 * orchestrator over IPC: `stats` (memory, connections, log lines by level) and `gc` (memory after
 * forced collections). Log lines are counted, not printed.
 */
import 'reflect-metadata';
import { LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'net';
import { Hub, HubException, SignalRModule, UploadStream } from '../../src/index.js';
import { EchoConnectionHandler } from '../../test/conformance/echo.connection-handler.js';
import { announceReady, serveCommands } from '../support/ipc.js';
import { sleep } from '../support/clock.js';
import { collectGarbage } from '../support/memory.js';

let connections = 0;
const logLines: Record<string, number> = {};

/** Lines per level and message shape (ids and numbers folded), at most 100 shapes. */
const logShapes: Record<string, number> = {};

/** Counts Nest's log lines instead of printing them, by level and by shape. */
const countingLogger: LoggerService = Object.fromEntries(
  ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'].map((level) => [
    level,
    (message: unknown) => {
      logLines[level] = (logLines[level] ?? 0) + 1;
      const shape = `${level} ${String(message)
        .replace(/connection [\w-]+/g, 'connection …')
        .replace(/\d+/g, 'N')
        .slice(0, 120)}`;
      if (shape in logShapes || Object.keys(logShapes).length < 100) logShapes[shape] = (logShapes[shape] ?? 0) + 1;
    },
  ]),
) as unknown as LoggerService;

/** Values a hub method may return that a protocol may not be able to write. */
function oddValue(kind: unknown): unknown {
  switch (kind) {
    case 'bigint':
      return 10n ** 30n;
    case 'circular': {
      const value: Record<string, unknown> = {};
      value.self = value;
      return value;
    }
    case 'function':
      return () => 1;
    case 'symbol':
      return Symbol('x');
    case 'date':
      return new Date(0);
    case 'map':
      return new Map([[1, 2]]);
    case 'typed':
      return new Float64Array([1.5, NaN]);
    case 'nan':
      return NaN;
    case 'deep': {
      let value: unknown = 0;
      for (let i = 0; i < 100_000; i++) value = [value];
      return value;
    }
    case 'throwing-getter':
      return {
        get x() {
          throw new Error('getter');
        },
      };
    case 'to-json-throws':
      return {
        toJSON() {
          throw new Error('toJSON');
        },
      };
    default:
      return kind;
  }
}

@Hub('/hubs/fuzz')
class FuzzHub extends Hub {
  onConnected() {
    connections++;
  }

  onDisconnected() {
    connections--;
  }

  Echo(value: unknown) {
    return value;
  }

  Add(a: number, b: number) {
    return a + b;
  }

  /** Returns a value of the kind asked for, serializable or not. */
  Odd(kind: unknown) {
    return oddValue(kind);
  }

  Fail(message: unknown) {
    throw new HubException(String(message));
  }

  Crash() {
    throw new Error('crash');
  }

  Send(value: unknown) {
    return this.clients.caller.send('echo', value);
  }

  async *Counter(count: unknown) {
    const n = typeof count === 'number' && count >= 0 ? Math.min(count, 10) : 1;
    for (let i = 0; i < n; i++) yield i;
  }

  async Upload(@UploadStream() items: AsyncIterable<unknown>) {
    let count = 0;
    for await (const _ of items) count++;
    return count;
  }

  async Wait(ms: unknown) {
    await sleep(typeof ms === 'number' && ms >= 0 ? Math.min(ms, 50) : 0);
    return ms;
  }
}

@Module({
  imports: [SignalRModule.forRoot({ handshakeTimeout: 2000 })],
  providers: [FuzzHub, EchoConnectionHandler],
})
class FuzzModule {}

async function main(): Promise<void> {
  const app =
    process.env.SIGNALR_TEST_PLATFORM === 'fastify'
      ? await NestFactory.create(FuzzModule, new (require('@nestjs/platform-fastify').FastifyAdapter)(), { logger: countingLogger })
      : await NestFactory.create(FuzzModule, { logger: countingLogger });
  await app.listen(0, '127.0.0.1');
  serveCommands({
    stats: () => ({ memory: process.memoryUsage(), connections, logLines: { ...logLines }, logShapes: { ...logShapes } }),
    gc: async () => ({ memory: await collectGarbage(), connections, gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function' }),
    close: () => app.close(),
  });
  process.once('SIGTERM', () => process.exit(0));
  announceReady({ port: (app.getHttpServer().address() as AddressInfo).port, pid: process.pid });
}

void main();
