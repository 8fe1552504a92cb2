import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { authConfig } from '../config/auth.config';
import { EventsModule } from '../events/events.module';
import { MailModule } from '../mail/mail.module';
import { MfaModule } from '../mfa/mfa.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { AccessTokenVerifier } from './access-token-verifier.service';
import { AuthRpcController } from './auth-rpc.controller';
import { JwksController } from './jwks.controller';
import { PasswordController } from './password.controller';
import { PasswordResetService } from './password-reset.service';
import { AuthGuard } from './guards/auth.guard';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { SigningKeys } from './signing-keys';
import { accessTokenStrategy } from './strategies/access-token.strategy';
import { ACCESS_TOKEN_STRATEGY } from './access-token';
import { TokensService } from './tokens.service';

@Module({
  imports: [UsersModule, EventsModule, MailModule, MfaModule, JwtModule.register({})],
  controllers: [AuthController, PasswordController, AuthRpcController, JwksController],
  exports: [TokensService, AccessTokenVerifier, RefreshTokensRepository, AuthService, PasswordResetService],
  providers: [
    AuthService,
    AccessTokenVerifier,
    PasswordResetService,
    TokensService,
    RefreshTokensRepository,
    { provide: ACCESS_TOKEN_STRATEGY, inject: [AccessTokenVerifier], useFactory: accessTokenStrategy },
    {
      provide: SigningKeys,
      inject: [JwtService, authConfig.KEY],
      useFactory: (jwt: JwtService, auth: ReturnType<typeof authConfig>) => SigningKeys.of(jwt, auth.jwtKeys),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
})
export class AuthModule {}
