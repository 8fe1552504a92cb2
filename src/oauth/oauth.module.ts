import { Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { AuthModule } from '../auth/auth.module';
import { SealedBox } from '../common/utils/sealed-box';
import { authConfig } from '../config/auth.config';
import { oauthConfig } from '../config/oauth.config';
import { EventsModule } from '../events/events.module';
import { MailModule } from '../mail/mail.module';
import { MfaModule } from '../mfa/mfa.module';
import { UsersModule } from '../users/users.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { OAuthAccountsService } from './oauth-accounts.service';
import { OAuthController } from './oauth.controller';
import { OAuthService } from './oauth.service';
import { CookieStateStore } from './state-store';
import { OAUTH_ENABLED_PROVIDERS, createStrategies } from './strategies';

@Module({
  imports: [UsersModule, AuthModule, EventsModule, MailModule, MfaModule, WebhooksModule],
  controllers: [OAuthController],
  exports: [OAuthService],
  providers: [
    OAuthService,
    OAuthAccountsService,
    {
      // The passport strategies of the enabled providers, each with its state store; the names of those enabled.
      provide: OAUTH_ENABLED_PROVIDERS,
      inject: [oauthConfig.KEY, authConfig.KEY, DataSource],
      useFactory: (oauth: ConfigType<typeof oauthConfig>, auth: ConfigType<typeof authConfig>, dataSource: DataSource) => {
        const box = new SealedBox(auth.secretKey, 'oauth-state', auth.previousSecretKey);
        return createStrategies(oauth, (provider) => new CookieStateStore(provider, box, dataSource));
      },
    },
  ],
})
export class OAuthModule {}
