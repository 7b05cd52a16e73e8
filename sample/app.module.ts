import { Module } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { jwtAuthenticator, SignalRModule } from '../src/index.js';
import { redisBackplane } from '../src/redis/index.js';
import { AuthModule } from './auth/auth.module.js';
import { ChatHub } from './chat/chat.hub.js';
import { DashboardHub } from './dashboard/dashboard.hub.js';
import { MetricsService } from './dashboard/metrics.service.js';
import { NotificationHub } from './notifications/notification.hub.js';
import { RedisUserConnections } from './notifications/redis-user-connections.js';
import { MemoryUserConnections, UserConnections } from './notifications/user-connections.js';
import { MemoryOrdersStore } from './orders/memory-orders.store.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersStore } from './orders/orders.store.js';
import { RedisOrdersStore } from './orders/redis-orders.store.js';
import { SampleRedis } from './redis/sample-redis.js';
import { StaticController } from './static.controller.js';
import { MetricsController } from './telemetry/metrics.controller.js';

/**
 * The sample app: login (`POST /api/auth/login` returns a JWT), a chat hub open to anonymous users
 * (with a live feed uploaded as a stream), a notification hub for signed-in users fed by a REST API
 * (which also asks owners to confirm a cancellation, a client result), a dashboard hub streaming
 * metrics read from its OpenTelemetry instruments (also at `GET /metrics` for Prometheus), and a
 * browser page at `/`.
 * Everything lives in memory, so `npm start` needs nothing else running; with REDIS_URL set, several
 * instances form one cluster on that Redis (`npm run start:cluster`): the hubs through the Redis
 * backplane, the orders and who is connected where in Redis as well.
 */
@Module({
  imports: [
    AuthModule,
    SignalRModule.forRootAsync({
      imports: [AuthModule],
      inject: [JwtService],
      useFactory: (jwt: JwtService) => ({
        // The token comes from `Authorization: Bearer` or the `access_token` query parameter (where
        // browsers' WebSockets and event streams carry it). No token: anonymous. A token that does not
        // verify (bad signature, `alg: none`, expired): 401. The verified payload is the user.
        authenticate: jwtAuthenticator(jwt, { algorithms: ['HS256'] }),
        // With REDIS_URL (as `npm run start:cluster` sets it), instances share hubs through Redis.
        backplane: process.env.REDIS_URL ? redisBackplane({ url: process.env.REDIS_URL }) : undefined,
        // Shared by the instances (`npm run start:cluster` sets it): a WebSocket may reach another instance than its negotiate.
        connectionTokenSecret: process.env.SIGNALR_TOKEN_SECRET || undefined,
      }),
    }),
  ],
  controllers: [OrdersController, StaticController, MetricsController],
  providers: [
    ChatHub,
    NotificationHub,
    DashboardHub,
    MetricsService,
    SampleRedis,
    // Clustered (REDIS_URL), shared by the instances in Redis; otherwise in this process.
    { provide: OrdersStore, inject: [SampleRedis], useFactory: ({ client }: SampleRedis) => (client ? new RedisOrdersStore(client) : new MemoryOrdersStore()) },
    {
      provide: UserConnections,
      inject: [SampleRedis],
      useFactory: ({ client }: SampleRedis) => (client ? new RedisUserConnections(client) : new MemoryUserConnections()),
    },
  ],
})
export class AppModule {}
