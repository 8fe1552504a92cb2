import { Controller, DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { MfaModule } from '../mfa/mfa.module';
import { OAuthModule } from '../oauth/oauth.module';
import { UsersModule } from '../users/users.module';
import { GoTrueController } from './gotrue.controller';
import { GoTrueLinks } from './gotrue-links';
import { GoTrueOAuth } from './gotrue-oauth';
import { GoTrueService } from './gotrue.service';

/**
 * The GoTrue-compatible API (issue #14): an adapter over the users and auth modules, mounted under
 * GOTRUE_COMPAT_PREFIX by mountedAt (see app.factory.ts), or not at all when the prefix is empty.
 */
@Module({
  imports: [UsersModule, AuthModule, OAuthModule, MfaModule],
  providers: [GoTrueService, GoTrueLinks, GoTrueOAuth],
})
export class GoTrueModule {
  /**
   * The module with its controller under `prefix` (`/auth/v1`); none for undefined (the API is off).
   * The prefix is the controller's own path (not RouterModule's), so that the OpenAPI export, which
   * builds the module graph without instantiating it, documents the routes where they are served.
   */
  static mountedAt(prefix: string | undefined): DynamicModule[] {
    if (prefix === undefined) return [];
    @Controller(prefix)
    class MountedGoTrueController extends GoTrueController {}
    return [{ module: GoTrueModule, controllers: [MountedGoTrueController] }];
  }
}
