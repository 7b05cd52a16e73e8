import { Body, Controller, HttpCode, Post, UnauthorizedException, ValidationPipe } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { LoginDto } from './login.dto.js';
import { UsersService } from './users.service.js';

/**
 * `POST /api/auth/login` with `{ "username": "ada", "password": "lovelace" }` answers
 * `{ "accessToken": "<JWT>" }`: HS256, `sub` = the user name, a `roles` claim, valid for an hour.
 * Clients hand it to SignalR with `accessTokenFactory`; a wrong password gets 401.
 *
 * The path carries the `api/` prefix itself: `app.setGlobalPrefix('api')` would do the same for every
 * controller, but hubs keep their paths unless `useGlobalPrefix` is set, so this keeps it simple.
 */
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly jwt: JwtService,
  ) {}

  @Post('login')
  @HttpCode(200)
  async login(@Body(new ValidationPipe()) credentials: LoginDto): Promise<{ accessToken: string }> {
    const user = this.users.verify(credentials.username, credentials.password);
    if (user === undefined) throw new UnauthorizedException('Invalid username or password.');
    return { accessToken: await this.jwt.signAsync({ sub: user.username, roles: user.roles }) };
  }
}
