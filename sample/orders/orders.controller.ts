import { BadRequestException, Body, ConflictException, Controller, ForbiddenException, Get, HttpCode, NotFoundException, Param, Post, Req, UseGuards } from '@nestjs/common';
import { HubContext, InjectHubContext } from '../../src/index.js';
import type { SampleClaims } from '../auth/identity.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import { NotificationHub, ORDERS_TOPIC } from '../notifications/notification.hub.js';
import { UserConnections } from '../notifications/user-connections.js';
import { Order, OrdersService } from './orders.service.js';

/** How long the owner has to answer a cancellation request. */
export const CONFIRM_TIMEOUT_MS = 60_000;

function requireField(body: Record<string, unknown> | undefined, field: string): string {
  const value = body?.[field];
  if (typeof value !== 'string' || value.trim().length === 0) throw new BadRequestException(`'${field}' must be a non-empty string.`);
  return value.trim();
}

/** The caller's verified claims, which JwtAuthGuard put on the request. */
type Caller = { user: SampleClaims };

function isAdmin(user: SampleClaims): boolean {
  return Array.isArray(user.roles) && user.roles.includes('admin');
}

/**
 * A REST API that pushes to SignalR clients from outside any hub, through the hub's HubContext.
 * Signed-in users only (401 otherwise, see JwtAuthGuard): each sees and acts on their own orders,
 * admins on everyone's; anyone else's order is 403.
 */
@Controller('orders')
@UseGuards(JwtAuthGuard)
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly userConnections: UserConnections,
    @InjectHubContext(NotificationHub) private readonly notifications: HubContext,
  ) {}

  /** The caller's orders; an admin's list has everyone's. */
  @Get()
  list(@Req() { user }: Caller): Order[] {
    const all = this.orders.list();
    return isAdmin(user) ? all : all.filter((order) => order.customer === user.sub);
  }

  /** Body: `{ "item": "Difference engine" }`, for the caller; an admin may add `"customer": "bob"`. */
  @Post()
  create(@Req() { user }: Caller, @Body() body: Record<string, unknown> | undefined): Order {
    const customer = body?.customer === undefined ? user.sub : requireField(body, 'customer');
    const item = requireField(body, 'item');
    if (customer !== user.sub && !isAdmin(user)) throw new ForbiddenException("Only admins may order for someone else.");
    return this.orders.create(customer, item);
  }

  @Post(':id/ship')
  @HttpCode(200)
  async ship(@Req() { user }: Caller, @Param('id') id: string): Promise<Order> {
    const order = this.pending(id, user);
    this.orders.markShipped(order);
    await this.tell('orderShipped', order);
    return order;
  }

  /**
   * A client result: the server asks the owner's browser `Confirm(question)` and waits for its true or
   * false (at most CONFIRM_TIMEOUT_MS) before cancelling. 409 when the owner declines, is not online
   * or does not answer.
   */
  @Post(':id/cancel')
  @HttpCode(200)
  async cancel(@Req() { user }: Caller, @Param('id') id: string): Promise<Order> {
    const order = this.pending(id, user);
    const connectionId = this.userConnections.newest(order.customer);
    if (connectionId === undefined) throw new ConflictException(`${order.customer} is not online to confirm cancelling order '${id}'.`);
    let confirmed: unknown;
    try {
      confirmed = await this.notifications.clients
        .client(connectionId)
        .invoke('Confirm', `Cancel your order #${order.id} (${order.item})?`, AbortSignal.timeout(CONFIRM_TIMEOUT_MS));
    } catch (error) {
      // The browser's error (a HubException), its connection closing, or the timeout.
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConflictException(`${order.customer} did not confirm cancelling order '${id}': ${reason}`);
    }
    if (confirmed !== true) throw new ConflictException(`${order.customer} declined cancelling order '${id}'.`);
    this.pending(id, user); // it may have shipped while the owner was deciding
    this.orders.markCancelled(order);
    await this.tell('orderCancelled', order);
    return order;
  }

  /** The order, if it exists, is the caller's (or the caller is an admin) and is still pending; 404, 403 or 409 otherwise. */
  private pending(id: string, user: SampleClaims): Order {
    const order = this.orders.find(id);
    if (order === undefined) throw new NotFoundException(`Order '${id}' does not exist.`);
    if (order.customer !== user.sub && !isAdmin(user)) throw new ForbiddenException(`Order '${id}' is not yours.`);
    if (order.status !== 'pending') throw new ConflictException(`Order '${id}' has already ${order.status === 'shipped' ? 'shipped' : 'been cancelled'}.`);
    return order;
  }

  /** Subscribers of the topic and the owner's every connection. */
  private async tell(event: 'orderShipped' | 'orderCancelled', order: Order): Promise<void> {
    // Targets are not deduplicated (as in ASP.NET Core): an owner who also subscribed gets both.
    await this.notifications.clients.group(ORDERS_TOPIC).send(event, order);
    await this.notifications.clients.user(order.customer).send(event, order);
  }
}
