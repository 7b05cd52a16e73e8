/**
 * When a user's authentication expires, in milliseconds since the epoch: its numeric `exp` claim
 * (seconds, as in a JWT), or null when it has none. Read when `closeOnAuthenticationExpiration` is on.
 */
export function authenticationExpiresAt(user: unknown): number | null {
  if (user === null || typeof user !== 'object') return null;
  const exp = (user as { exp?: unknown }).exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
}
