import type { HubRequest } from '../src/index.js';

/** The user a connection runs as. `sub` is what `clients.user(...)` targets. */
export interface DemoUser {
  sub: string;
  name: string;
}

/**
 * Demo authentication: the user name comes from the `user` query parameter (`/hubs/chat?user=ada`),
 * and a request without one is anonymous. Anyone can claim any name, so this is for trying things
 * out only; a real app verifies a token here (JWT support comes in a later issue).
 */
export function authenticateFromQuery(request: HubRequest): DemoUser | undefined {
  const name = request.query.get('user')?.trim();
  return name ? { sub: name, name } : undefined;
}

/** The name to show for a connection's user. */
export function displayName(user: unknown): string {
  return (user as DemoUser | undefined)?.name ?? 'anonymous';
}
