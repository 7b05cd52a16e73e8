import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Req,
  UseGuards,
} from '@nestjs/common';
import { HubContext, InjectHubContext } from '../../src/index.js';
import type { SampleClaims } from '../auth/identity.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import { NotificationHub, ORDERS_TOPIC } from '../notifications/notification.hub.js';
import { UserConnections } from '../notifications/user-connections.js';
import { Order, OrdersStore, SettledStatus } from './orders.store.js';

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

/** What `invoke` fails with when the connection is on no instance (an id left behind by a dead instance). */
function isGone(error: unknown, connectionId: string): boolean {
  return error instanceof Error && error.message === `Connection '${connectionId}' does not exist.`;
}

/**
 * A REST API that pushes to SignalR clients from outside any hub, through the hub's HubContext.
 * Signed-in users only (401 otherwise, see JwtAuthGuard): each sees and acts on their own orders,
 * admins on everyone's; anyone else's order is 403. Clustered, the orders are in Redis and any
 * instance answers for any of them.
 */
@Controller('orders')
@UseGuards(JwtAuthGuard)
export class OrdersController {
  constructor(
    private readonly orders: OrdersStore,
    private readonly userConnections: UserConnections,
    @InjectHubContext(NotificationHub) private readonly notifications: HubContext,
  ) {}

  /** The caller's orders; an admin's list has everyone's. */
  @Get()
  async list(@Req() { user }: Caller): Promise<Order[]> {
    const all = await this.orders.list();
    return isAdmin(user) ? all : all.filter((order) => order.customer === user.sub);
  }

  /** Body: `{ "item": "Difference engine" }`, for the caller; an admin may add `"customer": "bob"`. */
  @Post()
  create(@Req() { user }: Caller, @Body() body: Record<string, unknown> | undefined): Promise<Order> {
    const customer = body?.customer === undefined ? user.sub : requireField(body, 'customer');
    const item = requireField(body, 'item');
    if (customer !== user.sub && !isAdmin(user)) throw new ForbiddenException('Only admins may order for someone else.');
    return this.orders.create(customer, item);
  }

  @Post(':id/ship')
  @HttpCode(200)
  async ship(@Req() { user }: Caller, @Param('id') id: string): Promise<Order> {
    await this.pending(id, user);
    const shipped = await this.settle(id, user, 'shipped');
    await this.tell('orderShipped', shipped);
    return shipped;
  }

  /**
   * A client result: the server asks the owner's browser `Confirm(question)` and waits for its true or
   * false (at most CONFIRM_TIMEOUT_MS) before cancelling. 409 when the owner declines, is not online
   * or does not answer. Clustered, the owner's connection may be on another instance: presence says
   * whether they are online anywhere, and the question reaches their connection wherever it is.
   */
  @Post(':id/cancel')
  @HttpCode(200)
  async cancel(@Req() { user }: Caller, @Param('id') id: string): Promise<Order> {
    const order = await this.pending(id, user);
    const confirmed = await this.askOwner(order);
    if (confirmed !== true) throw new ConflictException(`${order.customer} declined cancelling order '${id}'.`);
    // It may have shipped (on any instance) while the owner was deciding.
    const cancelled = await this.settle(id, user, 'cancelled');
    await this.tell('orderCancelled', cancelled);
    return cancelled;
  }

  /** The owner's answer from their newest connection on any instance; 409 when they are not online or it fails. */
  private async askOwner(order: Order): Promise<unknown> {
    const offline = () => new ConflictException(`${order.customer} is not online to confirm cancelling order '${order.id}'.`);
    if ((await this.notifications.presence.connectionCount(order.customer)) === 0) throw offline();
    const question = `Cancel your order #${order.id} (${order.item})?`;
    for (const connectionId of await this.userConnections.newestFirst(order.customer)) {
      try {
        return await this.notifications.clients.client(connectionId).invoke('Confirm', question, AbortSignal.timeout(CONFIRM_TIMEOUT_MS));
      } catch (error) {
        if (isGone(error, connectionId)) {
          await this.userConnections.remove(order.customer, connectionId);
          continue;
        }
        // The browser's error (a HubException), its connection closing, or the timeout.
        const reason = error instanceof Error ? error.message : String(error);
        throw new ConflictException(`${order.customer} did not confirm cancelling order '${order.id}': ${reason}`);
      }
    }
    throw offline();
  }

  /** Moves the pending order to `status`; when another request got there first, the 409 saying why. */
  private async settle(id: string, user: SampleClaims, status: SettledStatus): Promise<Order> {
    const settled = await this.orders.settle(id, status);
    if (settled === undefined) await this.pending(id, user); // throws: no longer pending
    return settled!;
  }

  /** The order, if it exists, is the caller's (or the caller is an admin) and is still pending; 404, 403 or 409 otherwise. */
  private async pending(id: string, user: SampleClaims): Promise<Order> {
    const order = await this.orders.find(id);
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
