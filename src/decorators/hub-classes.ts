import type { Type } from '@nestjs/common';

const known = new Set<Type<unknown>>();

/** Every hub class seen by `@Hub()` or `@InjectHubContext()`, so the module can offer a HubContext for each. */
export function rememberHubClass(hub: Type<unknown>): void {
  known.add(hub);
}

export function knownHubClasses(): Type<unknown>[] {
  return [...known];
}
