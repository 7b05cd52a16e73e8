/**
 * Who one send reaches: ASP.NET Core's nine `Send*Async` targets of `HubLifetimeManager` as one
 * descriptor (as Socket.IO hands its adapter one `{ rooms, except }`), so a lifetime manager has a
 * single `send` to implement. `except` lists connection ids left out. A connection in two of the
 * listed `groups` receives the message twice, as in ASP.NET Core.
 *
 * @example
 * const target: HubTarget = { kind: 'group', name: 'room-1', except: [callerConnectionId] };
 * await lifetimeManager.send(target, 'message', ['ada', 'hello']);
 */
export type HubTarget =
  | { readonly kind: 'all'; readonly except?: readonly string[] }
  | { readonly kind: 'connection'; readonly id: string }
  | { readonly kind: 'connections'; readonly ids: readonly string[] }
  | { readonly kind: 'group'; readonly name: string; readonly except?: readonly string[] }
  | { readonly kind: 'groups'; readonly names: readonly string[] }
  | { readonly kind: 'user'; readonly id: string }
  | { readonly kind: 'users'; readonly ids: readonly string[] };

function isGroupName(groupName: unknown): groupName is string {
  return typeof groupName === 'string' && groupName.length > 0;
}

/** The rejection of a send whose target names an empty group (nothing is written then), else null. */
export function refuseTarget(target: HubTarget): Promise<never> | null {
  const valid = target.kind === 'group' ? isGroupName(target.name) : target.kind === 'groups' ? target.names.every(isGroupName) : true;
  return valid ? null : Promise.reject(new TypeError('Cannot send to an empty group name.'));
}

/** The rejection of a group add or remove with an empty group name, else null. */
export function refuseGroupName(groupName: unknown): Promise<never> | null {
  return isGroupName(groupName) ? null : Promise.reject(new TypeError('The group name must be a non-empty string.'));
}
