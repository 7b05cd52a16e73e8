import { SetMetadata } from '@nestjs/common';
import { HUB_METHOD_NAME_METADATA } from '../signalr.constants.js';

/**
 * Gives a hub method another name on the wire, as ASP.NET Core's `[HubMethodName]`.
 *
 * @example
 * @HubMethodName('SendMessage')
 * send(message: string) { ... }   // the client calls connection.invoke('SendMessage', 'hi')
 */
export function HubMethodName(name: string): MethodDecorator {
  if (typeof name !== 'string' || name.length === 0) throw new Error('@HubMethodName() needs a non-empty name.');
  return SetMetadata(HUB_METHOD_NAME_METADATA, name);
}
