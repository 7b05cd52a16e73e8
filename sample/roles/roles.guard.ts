import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HubCallerContext } from '../../src/index.js';
import { ROLES_KEY } from './roles.decorator.js';

/**
 * Lets a call through when the user has one of the roles `@Roles()` asks for. The roles are the
 * `roles` claim of the user's verified JWT (see sample/auth). On a hub the caller is the ws client
 * of the execution context (`switchToWs().getClient()`), whose `user` is the token's payload; on a
 * controller it would be the request. A refusal reaches a SignalR client as
 * "Failed to invoke 'X' because user is unauthorized".
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!required || required.length === 0) return true;
    const user =
      context.getType() === 'ws'
        ? (context.switchToWs().getClient<HubCallerContext>().user as { roles?: unknown } | undefined)
        : context.switchToHttp().getRequest<{ user?: { roles?: unknown } }>().user;
    const roles = user?.roles;
    // An array only: `includes` on a string claim would find 'admin' in 'not-admin'.
    return Array.isArray(roles) && required.some((role) => roles.includes(role));
  }
}
