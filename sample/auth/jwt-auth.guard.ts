import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { SampleClaims } from './identity.js';

/** An HTTP request as the guard sees it, and with `user` once verified. */
interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  user?: SampleClaims;
}

/**
 * Lets a controller's requests through only with a valid access token in `Authorization: Bearer`
 * (the same JWTs the hubs accept, verified by the same JwtService), and makes its claims the
 * request's `user`. No token or one that does not verify: 401.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(private readonly jwt: JwtService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (match === null) throw new UnauthorizedException('Log in first: send the access token as `Authorization: Bearer <token>`.');
    try {
      request.user = await this.jwt.verifyAsync<SampleClaims>(match[1]);
    } catch {
      throw new UnauthorizedException('The access token is invalid or has expired.');
    }
    return true;
  }
}
