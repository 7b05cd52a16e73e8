import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HubCallerContext } from '../../src/index.js';
import { ROLES_KEY } from './roles.decorator.js';

/**
 * Lets a call through when the user has one of the roles `@Roles()` asks for. On a hub the caller is
 * the ws client of the execution context (`switchToWs().getClient()`); on a controller it would be
 * the request. A refusal reaches a SignalR client as "Failed to invoke 'X' because user is unauthorized".
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!required || required.length === 0) return true;
    const user =
      context.getType() === 'ws'
        ? (context.switchToWs().getClient<HubCallerContext>().user as { roles?: string[] } | undefined)
        : (context.switchToHttp().getRequest<{ user?: { roles?: string[] } }>().user);
    return required.some((role) => user?.roles?.includes(role) ?? false);
  }
}
