import { SetMetadata } from '@nestjs/common';
import { NOT_HUB_METHOD_METADATA } from '../signalr.constants.js';

/**
 * Keeps a public method of a hub off the wire: clients that invoke it get "Method does not exist.",
 * as for a name the hub does not have. Every other public method (TypeScript's `private` included,
 * which JavaScript still exposes) is invocable by its name; a name starting with `_` is skipped too.
 *
 * @example
 * @NotHubMethod()
 * handleConnection() { ... }   // a helper for the hub's own use; connection.invoke('HandleConnection') is refused
 */
export function NotHubMethod(): MethodDecorator {
  return SetMetadata(NOT_HUB_METHOD_METADATA, true);
}
