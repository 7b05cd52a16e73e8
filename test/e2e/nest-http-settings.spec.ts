import type { INestApplication, LoggerService } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'net';
import type { CorsOptions } from '@nestjs/common/interfaces/external/cors-options.interface.js';
import { SignalRModule, type SignalRModuleOptions } from '../../src/index.js';
import { NestHttpTexts } from '../../src/platforms/nest-http-settings.js';
import { BroadcastModule } from '../fixtures/broadcast.controller.js';
import { EchoHub } from '../fixtures/echo.hub.js';
import { TargetsHub } from '../fixtures/targets.hub.js';
import { PLATFORM, startApp, TestApp } from '../support/app.js';
import { connect, stopAll } from '../support/client.js';
import { RawResponse, request } from '../support/http.js';
import { RawSocket } from '../support/raw-socket.js';

const ALLOWED = 'http://app.example.test:8080';
const EVIL = 'http://evil.example.test';
const PATHS = '/hubs/echo, /hubs/targets';

/** Nest's log and warn lines of context 'SignalR', as `log: <message>` / `warn: <message>`. */
function signalRLogger(lines: string[]): LoggerService {
  const ignore = () => undefined;
  const keep = (level: string) => (message: unknown, context?: unknown) => {
    if (context === 'SignalR' && !String(message).startsWith('Mapped ')) lines.push(`${level}: ${String(message)}`);
  };
  return { log: keep('log'), warn: keep('warn'), error: ignore, debug: ignore, verbose: ignore, fatal: ignore };
}

/** An app with EchoHub and TargetsHub (and a controller) on this run's platform, set up by `configure`; its SignalR lines go to `lines`. */
async function start(lines: string[], options: SignalRModuleOptions, configure: (app: INestApplication) => void): Promise<TestApp> {
  return startApp({ imports: [SignalRModule.forRoot(options), BroadcastModule], providers: [EchoHub, TargetsHub] }, (app) => {
    app.useLogger(signalRLogger(lines));
    configure(app);
  });
}

/** A browser's preflight of the official client's negotiate. */
function preflight(app: TestApp, origin: string, path = '/hubs/echo/negotiate?negotiateVersion=1'): Promise<RawResponse> {
  return request(app.url(path), {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-requested-with,x-signalr-user-agent' },
  });
}

/** Status and CORS headers of a response, and nothing else. */
function cors(response: RawResponse): { status: number; headers: Record<string, unknown> } {
  const headers = Object.fromEntries(Object.entries(response.headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'));
  return { status: response.status, headers };
}

function preflightAnswer(origin: string, credentials: boolean, maxAge = '600') {
  return {
    status: 204,
    headers: {
      'access-control-allow-origin': origin,
      ...(credentials ? { 'access-control-allow-credentials': 'true' } : {}),
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers': 'x-requested-with,x-signalr-user-agent',
      'access-control-max-age': maxAge,
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    },
  };
}

/** Hub paths and the app's HTTP settings: `app.enableCors()`, `app.use()`, `app.setGlobalPrefix()`. */
describe("the app's HTTP settings on hub paths", () => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await stopAll();
    await app?.close();
    app = undefined;
  });

  it("follows app.enableCors()'s origin list and credentials when the module has no cors option", async () => {
    const lines: string[] = [];
    app = await start(lines, {}, (nest) => nest.enableCors({ origin: [ALLOWED, /\.trusted\.test$/], credentials: true, maxAge: 60 }));
    expect(cors(await preflight(app, ALLOWED))).toEqual(preflightAnswer(ALLOWED, true, '60'));
    expect(cors(await preflight(app, 'http://a.trusted.test'))).toEqual(preflightAnswer('http://a.trusted.test', true, '60'));
    const negotiated = await request(app.url('/hubs/echo/negotiate?negotiateVersion=1'), { method: 'POST', headers: { Origin: ALLOWED } });
    expect(cors(negotiated)).toEqual({
      status: 200,
      headers: { 'access-control-allow-origin': ALLOWED, 'access-control-allow-credentials': 'true', vary: 'Origin' },
    });
    // As with the module's own cors option: other origins are refused, WebSocket upgrades included.
    expect(cors(await preflight(app, EVIL))).toEqual({ status: 403, headers: {} });
    await expect(RawSocket.open(app.url('/hubs/echo'), { Origin: EVIL })).rejects.toMatchObject({ status: 403 });
    const client = await connect(app.url('/hubs/echo'));
    await expect(client.invoke('Echo', 'through enableCors')).resolves.toBe('through enableCors');
    expect(lines).toEqual([`log: ${NestHttpTexts.corsAdopted}`]);
  });

  it('follows a bare app.enableCors() (any origin) without credentials', async () => {
    const lines: string[] = [];
    app = await start(lines, {}, (nest) => nest.enableCors());
    expect(cors(await preflight(app, EVIL))).toEqual(preflightAnswer(EVIL, false));
    expect(lines).toEqual([`log: ${NestHttpTexts.corsAdopted}`]);
  });

  it("follows the cors option of the app's creation (NestFactory.create(..., { cors })) with origin: true, credentials included", async () => {
    const lines: string[] = [];
    const moduleRef = await Test.createTestingModule({ imports: [SignalRModule.forRoot()], providers: [EchoHub, TargetsHub] }).compile();
    const options = { logger: signalRLogger(lines), cors: { origin: true, credentials: true } };
    const nest = PLATFORM === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter(), options) : moduleRef.createNestApplication(options);
    await nest.listen(0, '127.0.0.1');
    const baseUrl = `http://127.0.0.1:${(nest.getHttpServer().address() as AddressInfo).port}`;
    app = { app: nest, baseUrl, url: (path) => `${baseUrl}${path}`, close: () => nest.close() };
    expect(cors(await preflight(app, EVIL))).toEqual(preflightAnswer(EVIL, true));
    expect(lines).toEqual([`log: ${NestHttpTexts.corsAdopted}`]);
  });

  it('asks an origin function that answers at once, and refuses (with one warning) one that answers later', async () => {
    const lines: string[] = [];
    const origin: CorsOptions['origin'] = (requestOrigin, callback) => {
      if (requestOrigin === EVIL) setImmediate(() => callback(null, true));
      else callback(null, requestOrigin === ALLOWED);
    };
    app = await start(lines, {}, (nest) => nest.enableCors({ origin }));
    expect(cors(await preflight(app, ALLOWED))).toEqual(preflightAnswer(ALLOWED, false));
    expect(cors(await preflight(app, 'http://other.test'))).toEqual({ status: 403, headers: {} });
    expect(cors(await preflight(app, EVIL))).toEqual({ status: 403, headers: {} });
    expect(cors(await preflight(app, EVIL))).toEqual({ status: 403, headers: {} });
    expect(lines).toEqual([`log: ${NestHttpTexts.corsAdopted}`, `warn: ${NestHttpTexts.corsOriginAsync(EVIL)}`]);
  });

  it("keeps the module's cors option over app.enableCors(), and none at all with cors: null", async () => {
    const lines: string[] = [];
    app = await start(lines, { cors: { origins: ['http://module.test'], credentials: false } }, (nest) => nest.enableCors({ origin: ALLOWED }));
    expect(cors(await preflight(app, 'http://module.test'))).toEqual(preflightAnswer('http://module.test', false));
    expect(cors(await preflight(app, ALLOWED))).toEqual({ status: 403, headers: {} });
    await app.close();
    app = await start(lines, { cors: null }, (nest) => nest.enableCors({ origin: ALLOWED }));
    // Hub paths answer no method they do not serve, and without a policy send no CORS headers.
    expect(cors(await preflight(app, ALLOWED))).toEqual({ status: 405, headers: {} });
    expect(lines).toEqual([]);
  });

  it('warns that per-request CORS options cannot apply to hub paths, which then send no CORS headers', async () => {
    const lines: string[] = [];
    app = await start(lines, {}, (nest) =>
      nest.enableCors((_request: unknown, callback: (error: Error | null, options: CorsOptions) => void) => callback(null, { origin: true })),
    );
    expect(cors(await preflight(app, ALLOWED))).toEqual({ status: 405, headers: {} });
    expect(lines).toEqual([`warn: ${NestHttpTexts.corsNotAdoptable}`]);
    // The app's own routes keep the delegate.
    expect(cors(await preflight(app, ALLOWED, '/broadcast/all')).headers).toMatchObject({ 'access-control-allow-origin': ALLOWED });
  });

  it('warns of app.use() middleware that hub requests bypass, naming it, but not of middleware mounted elsewhere or of Nest its own', async () => {
    const lines: string[] = [];
    const seen: string[] = [];
    app = await start(lines, {}, (nest) => {
      nest.enableCors({ origin: ALLOWED });
      nest.use(function requestLog(req: { url: string }, _res: unknown, next: () => void) {
        seen.push(req.url);
        next();
      });
      nest.use('/broadcast', function broadcastOnly(_req: unknown, _res: unknown, next: () => void) {
        next();
      });
    });
    expect((await fetch(app.url('/broadcast/hello'))).status).toBe(200);
    const client = await connect(app.url('/hubs/echo'));
    await expect(client.invoke('Echo', 1)).resolves.toBe(1);
    expect(seen).toEqual(['/broadcast/hello']);
    expect(lines).toEqual([`log: ${NestHttpTexts.corsAdopted}`, `warn: ${NestHttpTexts.middlewareSkipped(['requestLog'], PATHS.split(', '))}`]);
    expect(lines[1]).toBe(
      "warn: app.use() middleware (requestLog) does not run on hub paths (/hubs/echo, /hubs/targets): the hub router answers them before the HTTP framework sees them. SignalRModule's authenticate and cors options apply there.",
    );
  });

  it('warns that the global prefix does not apply to hub paths unless useGlobalPrefix says either way', async () => {
    const lines: string[] = [];
    app = await start(lines, {}, (nest) => nest.setGlobalPrefix('/api/'));
    expect(lines).toEqual([
      "warn: The global prefix 'api' does not apply to hub paths (/hubs/echo, /hubs/targets). Set useGlobalPrefix: true in SignalRModule's options to prefix them, or useGlobalPrefix: false to keep them as they are without this warning.",
    ]);
    const client = await connect(app.url('/hubs/echo'));
    await expect(client.invoke('Echo', 'unprefixed')).resolves.toBe('unprefixed');
    await app.close();
    lines.length = 0;
    app = await start(lines, { useGlobalPrefix: false }, (nest) => nest.setGlobalPrefix('api'));
    await app.close();
    app = await start(lines, { useGlobalPrefix: true }, (nest) => nest.setGlobalPrefix('api'));
    expect(lines).toEqual([]);
  });
});
