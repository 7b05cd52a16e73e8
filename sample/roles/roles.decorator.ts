import { SetMetadata } from '@nestjs/common';

export const ROLES_KEY = 'roles';

/**
 * The roles a hub method (or a whole hub) requires; checked by RolesGuard, exactly as on controllers.
 *
 * @example
 * @Roles('admin')
 * @UseGuards(RolesGuard)
 * adminBroadcast(announcement: AnnouncementDto) { ... }
 */
export const Roles = (...roles: string[]) => SetMetadata(ROLES_KEY, roles);
