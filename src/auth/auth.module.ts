import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule, JwtSecretRequestType } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { authConfig } from '../config/auth.config';
import { EventsModule } from '../events/events.module';
import { MailModule } from '../mail/mail.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { AccessTokenVerifier } from './access-token-verifier.service';
import { AuthRpcController } from './auth-rpc.controller';
import { PasswordController } from './password.controller';
import { PasswordResetService } from './password-reset.service';
import { AuthGuard } from './guards/auth.guard';
import { JwtStrategy } from './jwt.strategy';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { verificationKey } from './signing-keys';
import { TokensService } from './tokens.service';

@Module({
  imports: [
    UsersModule,
    EventsModule,
    MailModule,
    PassportModule,
    JwtModule.registerAsync({
      inject: [authConfig.KEY],
      useFactory: (auth: ReturnType<typeof authConfig>) => ({
        privateKey: auth.jwtKey,
        publicKey: auth.jwtKey,
        // During a key rotation, tokens signed with USERS_SECRET_KEY_PREVIOUS still verify (the NATS API's users.verify_token).
        ...(auth.previousJwtKey
          ? { secretOrKeyProvider: (type: JwtSecretRequestType, token: string | object) => (type === JwtSecretRequestType.VERIFY ? verificationKey(token as string, auth) : auth.jwtKey) }
          : {}),
        signOptions: { algorithm: 'HS256' },
        verifyOptions: { algorithms: ['HS256'], issuer: auth.issuer, audience: auth.audience },
      }),
    }),
  ],
  controllers: [AuthController, PasswordController, AuthRpcController],
  exports: [TokensService, AccessTokenVerifier, RefreshTokensRepository],
  providers: [AuthService, AccessTokenVerifier, PasswordResetService, TokensService, RefreshTokensRepository, JwtStrategy, { provide: APP_GUARD, useClass: AuthGuard }],
})
export class AuthModule {}
