import { Hub } from '../../src/index.js';

/** The claim type URI .NET maps a JWT's `nameid` to. */
const NAME_IDENTIFIER = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier';

/** The functional tests' HubWithAuthorization: only users with a NameIdentifier claim (a `nameid` in their JWT). */
@Hub('/authorizedhub', { requireAuthentication: true })
export class AuthorizedHub extends Hub {
  echo(message: string): string {
    return message;
  }

  getUserNameIdentifier(): string | null {
    return this.context.userIdentifier;
  }

  /** A claim of the caller's token, by JWT name or by .NET claim type URI; null when absent. */
  getUserClaim(type: string): string | null {
    const claims = this.context.user as Record<string, unknown>;
    const value = claims[type === NAME_IDENTIFIER ? 'nameid' : type];
    return value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value);
  }
}
