import { BadRequestException, Body, ConflictException, Controller, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { HubContext, InjectHubContext } from '../../src/index.js';
import { NotificationHub, ORDERS_TOPIC } from '../notifications/notification.hub.js';
import { Order, OrdersService } from './orders.service.js';

function requireField(body: Record<string, unknown> | undefined, field: string): string {
  const value = body?.[field];
  if (typeof value !== 'string' || value.trim().length === 0) throw new BadRequestException(`'${field}' must be a non-empty string.`);
  return value.trim();
}

/** A REST API that pushes to SignalR clients from outside any hub, through the hub's HubContext. */
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    @InjectHubContext(NotificationHub) private readonly notifications: HubContext,
  ) {}

  @Get()
  list(): Order[] {
    return this.orders.list();
  }

  /** Body: `{ "customer": "ada", "item": "Difference engine" }`. */
  @Post()
  create(@Body() body: Record<string, unknown> | undefined): Order {
    return this.orders.create(requireField(body, 'customer'), requireField(body, 'item'));
  }

  @Post(':id/ship')
  @HttpCode(200)
  async ship(@Param('id') id: string): Promise<Order> {
    const order = this.orders.find(id);
    if (order === undefined) throw new NotFoundException(`Order '${id}' does not exist.`);
    if (order.status === 'shipped') throw new ConflictException(`Order '${id}' has already shipped.`);
    this.orders.markShipped(order);
    // Subscribers of the topic and the owner's every connection. Targets are not deduplicated (as in
    // ASP.NET Core): an owner who also subscribed gets both.
    await this.notifications.clients.group(ORDERS_TOPIC).send('orderShipped', order);
    await this.notifications.clients.user(order.customer).send('orderShipped', order);
    return order;
  }
}
