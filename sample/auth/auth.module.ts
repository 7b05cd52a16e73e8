import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { randomBytes } from 'crypto';
import { AuthController } from './auth.controller.js';
import { UsersService } from './users.service.js';

/** Used when JWT_SECRET is not set: tokens then stop verifying when the process restarts. */
const PER_PROCESS_SECRET = randomBytes(32).toString('base64url');

/**
 * Login and the JwtService that signs and verifies the sample's tokens. It exports JwtModule, so
 * that SignalRModule.forRootAsync can inject the same JwtService into jwtAuthenticator.
 */
@Module({
  imports: [
    JwtModule.registerAsync({
      useFactory: () => ({
        secret: process.env.JWT_SECRET || PER_PROCESS_SECRET,
        signOptions: { algorithm: 'HS256', expiresIn: '1h' },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [UsersService],
  exports: [JwtModule],
})
export class AuthModule {}
