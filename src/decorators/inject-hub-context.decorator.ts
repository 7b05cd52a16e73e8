import { Inject, Type } from '@nestjs/common';
import { rememberHubClass } from './hub-classes.js';

const tokens = new WeakMap<Type<unknown>, symbol>();

/**
 * The injection token of a hub's `HubContext`, for `moduleRef.get()` or custom providers.
 *
 * @example
 * const chat = app.get<HubContext>(getHubContextToken(ChatHub));
 */
export function getHubContextToken(hub: Type<unknown>): symbol {
  let token = tokens.get(hub);
  if (token === undefined) {
    token = Symbol(`HubContext<${hub.name}>`);
    tokens.set(hub, token);
  }
  return token;
}

/**
 * Injects the `HubContext` of a hub into a controller or service, to send to clients from outside
 * the hub (ASP.NET Core's `IHubContext<THub>`).
 *
 * @example
 * constructor(@InjectHubContext(ChatHub) private readonly chat: HubContext) {}
 * ship(order: Order) { return this.chat.clients.user(order.customerId).send('shipped', order.id); }
 */
export function InjectHubContext(hub: Type<unknown>): ParameterDecorator & PropertyDecorator {
  rememberHubClass(hub);
  return Inject(getHubContextToken(hub));
}
