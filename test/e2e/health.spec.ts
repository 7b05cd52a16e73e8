import { HttpTransportType, HubConnection, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { Controller, Get, LoggerService } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import Redis from 'ioredis';
import { Hub, SignalRModule, SignalRStatistics, type SignalRLogEvent } from '../../src/index.js';
import { redisBackplane } from '../../src/redis/index.js';
import { RedisTexts } from '../../src/redis/redis-texts.js';
import { HealthTexts } from '../../src/signalr.messages.js';
import { SignalRHealthIndicator } from '../../src/terminus/index.js';
import { startApp, TestApp } from '../support/app.js';
import { RawSocket, RS } from '../support/raw-socket.js';
import { RedisServer, startRedis } from '../support/redis.js';
import { eventually, waitUntil } from '../support/wait.js';

@Hub('/hubs/stats')
class StatsHub extends Hub {
  join(group: string) {
    return this.groups.addToGroup(this.context.connectionId, group);
  }
}

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly signalr: SignalRHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.signalr.isHealthy('signalr')]);
  }
}

const authenticate = (request: { query: URLSearchParams }) => {
  const user = request.query.get('user');
  return user ? { sub: user } : undefined;
};

const NO_CONNECTIONS = { WebSockets: 0, ServerSentEvents: 0, LongPolling: 0 };
const opened = new Set<HubConnection>();

async function connect(app: TestApp, transport: HttpTransportType, user?: string): Promise<HubConnection> {
  const query = user === undefined ? '' : `?user=${user}`;
  const connection = new HubConnectionBuilder()
    .withUrl(app.url(`/hubs/stats${query}`), { transport })
    .configureLogging(LogLevel.None)
    .build();
  await connection.start();
  opened.add(connection);
  return connection;
}

async function health(app: TestApp): Promise<{ status: number; body: any }> {
  const response = await fetch(app.url('/health'));
  return { status: response.status, body: await response.json() };
}

/** Nest's log lines as they were handed to the logger: the module's are SignalRLogEvent objects. */
function eventLogger(events: SignalRLogEvent[], waiters: Map<string, () => void>): LoggerService {
  const keep = (message: unknown) => {
    const event = (message as SignalRLogEvent | null)?.event;
    if (typeof event !== 'string') return;
    events.push(message as SignalRLogEvent);
    waiters.get(event)?.();
  };
  return { log: keep, warn: keep, error: keep, fatal: keep, debug: keep, verbose: keep };
}

afterEach(async () => {
  await Promise.all([...opened].map((connection) => connection.stop()));
  opened.clear();
});

describe('SignalRStatistics and SignalRHealthIndicator, in memory', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({
      imports: [SignalRModule.forRoot({ authenticate }), TerminusModule],
      controllers: [HealthController],
      providers: [StatsHub, SignalRHealthIndicator],
    });
  });
  afterAll(() => app?.close());

  it('counts connections by hub and transport, groups and users as they come and go; the health endpoint reports them', async () => {
    const statistics = app.app.get(SignalRStatistics);
    const idle = { hub: 'StatsHub', path: '/hubs/stats', connections: 0, connectionsByTransport: NO_CONNECTIONS, groups: 0 };
    expect(statistics.snapshot()).toEqual({ serving: true, connections: 0, connectionsByTransport: NO_CONNECTIONS, hubs: [idle], backplane: null });

    const ada = await connect(app, HttpTransportType.WebSockets, 'ada');
    const bob = await connect(app, HttpTransportType.ServerSentEvents, 'bob');
    const adaAgain = await connect(app, HttpTransportType.LongPolling, 'ada');
    const anonymous = await connect(app, HttpTransportType.WebSockets);
    await ada.invoke('join', 'red');
    await bob.invoke('join', 'red');
    await bob.invoke('join', 'blue');
    await adaAgain.invoke('join', 'blue');
    await anonymous.invoke('join', 'green');

    const byTransport = { WebSockets: 2, ServerSentEvents: 1, LongPolling: 1 };
    expect(statistics.hub(StatsHub)).toEqual({ ...idle, connections: 4, connectionsByTransport: byTransport, groups: 3 });
    expect(statistics.snapshot()).toEqual({
      serving: true,
      connections: 4,
      connectionsByTransport: byTransport,
      hubs: [{ ...idle, connections: 4, connectionsByTransport: byTransport, groups: 3 }],
      backplane: null,
    });
    expect(await statistics.usersOnline(StatsHub)).toBe(2); // ada twice, bob; the anonymous connection has no user
    const details = { connections: 4, connectionsByTransport: byTransport, hubs: { StatsHub: 4 } };
    expect(await health(app)).toEqual({
      status: 200,
      body: { status: 'ok', info: { signalr: { status: 'up', ...details } }, error: {}, details: { signalr: { status: 'up', ...details } } },
    });

    await bob.stop();
    await anonymous.stop();
    await waitUntil(() => statistics.snapshot().connections === 2);
    expect(statistics.hub(StatsHub)).toEqual({
      ...idle,
      connections: 2,
      connectionsByTransport: { WebSockets: 1, ServerSentEvents: 0, LongPolling: 1 },
      groups: 2,
    });
    expect(await statistics.usersOnline(StatsHub)).toBe(1);

    await ada.stop();
    await adaAgain.stop();
    await waitUntil(() => statistics.snapshot().connections === 0);
    expect(statistics.hub(StatsHub)).toEqual(idle);
    expect(await statistics.usersOnline(StatsHub)).toBe(0);
  });

  it('a connection whose handshake fails is never counted', async () => {
    const statistics = app.app.get(SignalRStatistics);
    const raw = await RawSocket.open(app.url('/hubs/stats'));
    raw.sendText(`{"protocol":"nope","version":1}${RS}`);
    expect((await raw.nextFrame()).data.toString()).toBe(`{"error":"The protocol 'nope' is not supported."}${RS}`);
    await raw.closed();
    expect(statistics.snapshot().connections).toBe(0);
  });

  it('usersOnline rejects for a class that is not a hub served here', async () => {
    await expect(app.app.get(SignalRStatistics).usersOnline(HealthController)).rejects.toThrow(HealthTexts.hubNotServed('HealthController'));
    expect(app.app.get(SignalRStatistics).hub(HealthController)).toBeNull();
  });
});

describe('SignalRHealthIndicator on shutdown', () => {
  it('is down once shutdown began', async () => {
    const app = await startApp({
      imports: [SignalRModule.forRoot(), TerminusModule],
      controllers: [HealthController],
      providers: [StatsHub, SignalRHealthIndicator],
    });
    const indicator = app.app.get(SignalRHealthIndicator);
    expect(indicator.isHealthy()).toEqual({ signalr: { status: 'up', connections: 0, connectionsByTransport: NO_CONNECTIONS, hubs: { StatsHub: 0 } } });
    await app.close();
    expect(indicator.isHealthy('hubs')).toEqual({
      hubs: { status: 'down', message: HealthTexts.notServing, connections: 0, connectionsByTransport: NO_CONNECTIONS, hubs: { StatsHub: 0 } },
    });
  });
});

describe('SignalRHealthIndicator with the Redis backplane (a real redis-server)', () => {
  let redis: RedisServer;
  let app: TestApp;
  const events: SignalRLogEvent[] = [];
  const waiters = new Map<string, () => void>();
  const logged = (event: string) => new Promise<void>((resolve) => waiters.set(event, resolve));

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp(
      {
        imports: [SignalRModule.forRoot({ authenticate, backplane: redisBackplane({ url: redis.url, presenceHeartbeat: 100 }) }), TerminusModule],
        controllers: [HealthController],
        providers: [StatsHub, SignalRHealthIndicator],
      },
      (nest) => nest.useLogger(eventLogger(events, waiters)),
    );
  });
  afterAll(async () => {
    await app?.close();
    await redis?.close();
  });

  it('is down with the reason while Redis is stopped, and up again once it restarted', async () => {
    const statistics = app.app.get(SignalRStatistics);
    await connect(app, HttpTransportType.WebSockets, 'ada');
    await connect(app, HttpTransportType.LongPolling, 'bob');
    expect(await statistics.usersOnline(StatsHub)).toBe(2);
    const before = await health(app);
    expect(before.status).toBe(200);
    const heartbeat = before.body.info.signalr.backplane.lastPresenceHeartbeatAt;
    expect(Date.now() - Date.parse(heartbeat)).toBeLessThan(1_000);
    expect(before.body.info.signalr).toEqual({
      status: 'up',
      connections: 2,
      connectionsByTransport: { WebSockets: 1, ServerSentEvents: 0, LongPolling: 1 },
      hubs: { StatsHub: 2 },
      backplane: { connected: true, disconnectedSince: null, outages: 0, droppedSends: 0, lastPresenceHeartbeatAt: heartbeat },
    });

    const failed = logged('ConnectionFailed');
    const stoppedAt = Date.now();
    await redis.stop();
    await failed;
    const down = statistics.backplane()!;
    expect(down).toMatchObject({ connected: false, outages: 1, droppedSends: 0, presenceHeartbeatInterval: 100 });
    expect(down.disconnectedSince).toBeGreaterThanOrEqual(stoppedAt);
    const during = await health(app);
    expect(during.status).toBe(503);
    expect(during.body.status).toBe('error');
    expect(during.body.error.signalr).toEqual({
      status: 'down',
      message: HealthTexts.backplaneDown(down.disconnectedSince),
      connections: 2,
      connectionsByTransport: { WebSockets: 1, ServerSentEvents: 0, LongPolling: 1 },
      hubs: { StatsHub: 2 },
      backplane: {
        connected: false,
        disconnectedSince: new Date(down.disconnectedSince!).toISOString(),
        outages: 1,
        droppedSends: 0,
        lastPresenceHeartbeatAt: expect.any(String),
      },
    });
    await expect(statistics.usersOnline(StatsHub)).rejects.toThrow(RedisTexts.unavailable);

    const restored = logged('ConnectionRestored');
    await redis.start();
    await restored;
    // Connected again at once; the presence heartbeat is fresh once this instance wrote its users again.
    expect(statistics.backplane()).toMatchObject({ connected: true, disconnectedSince: null, outages: 1 });
    expect(await eventually(async () => (await health(app)).status, 200)).toBe(200);
    expect(await statistics.usersOnline(StatsHub)).toBe(2);
    expect(events.filter((event) => event.event === 'ConnectionFailed' || event.event === 'ConnectionRestored').map((event) => event.event)).toEqual([
      'ConnectionFailed',
      'ConnectionRestored',
    ]);
  });

  it('is down while Redis accepts no presence heartbeat for three intervals (writes paused), up once it does again', async () => {
    const statistics = app.app.get(SignalRStatistics);
    const admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
    try {
      expect((await health(app)).status).toBe(200);
      await admin.call('CLIENT', 'PAUSE', '2000', 'WRITE');
      const stale = await eventually(async () => (await health(app)).body.error?.signalr?.status, 'down', 3_000);
      expect(stale).toBe('down');
      const backplane = statistics.backplane()!;
      expect(backplane).toMatchObject({ connected: true, presenceStale: true });
      expect((await health(app)).body.error.signalr.message).toBe(HealthTexts.presenceStale(backplane.lastPresenceHeartbeatAt, 100));
      await admin.call('CLIENT', 'UNPAUSE');
      expect(await eventually(async () => (await health(app)).status, 200)).toBe(200);
      expect(statistics.backplane()!.presenceStale).toBe(false);
    } finally {
      await admin.quit();
    }
  });
});
