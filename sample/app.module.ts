import { Module } from '@nestjs/common';
import { SignalRModule } from '../src/index.js';
import { authenticateFromQuery } from './auth.js';
import { ChatHub } from './chat/chat.hub.js';
import { NotificationHub } from './notifications/notification.hub.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';
import { StaticController } from './static.controller.js';

/**
 * The sample app: a chat hub, a notification hub fed by a REST API, and a browser page at `/`.
 * Everything lives in memory, so `npm start` needs nothing else running.
 */
@Module({
  imports: [
    SignalRModule.forRoot({
      // Demo only: the user name is taken from `?user=ada` (anonymous without it). Real apps
      // authenticate with a verified token such as a JWT here (JWT support comes in a later issue).
      authenticate: authenticateFromQuery,
    }),
  ],
  controllers: [OrdersController, StaticController],
  providers: [ChatHub, NotificationHub, OrdersService],
})
export class AppModule {}
