/**
 * The claims of the sample's access tokens (see AuthController). jwtAuthenticator verifies a token and
 * makes its payload the connection's user: `context.user` is this object, `context.userIdentifier` its
 * `sub` (what `clients.user(...)` targets), and RolesGuard reads `roles`.
 */
export interface SampleClaims {
  sub: string;
  roles: string[];
  iat: number;
  exp: number;
}

/** The name to show for a connection's user: the token's `sub`, or "anonymous" without a token. */
export function displayName(user: unknown): string {
  return (user as SampleClaims | undefined)?.sub ?? 'anonymous';
}
