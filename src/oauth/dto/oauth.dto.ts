import { ApiProperty } from '@nestjs/swagger';
import { OAUTH_PROVIDERS, OAuthProviderName } from '../../config/oauth.config';

export class OAuthProviderDto {
  @ApiProperty({ enum: OAUTH_PROVIDERS })
  name: OAuthProviderName;
  /** For a sign-in button. @example Google */
  display_name: string;
  /** Where a sign-in button sends the browser (add `?redirect_to=` to come back elsewhere). @example /oauth/authorize/google */
  authorize_url: string;
}

/** After GoTrue's /settings: what a sign-in page needs to know. */
export class OAuthSettingsDto {
  /** The enabled providers only. */
  providers: OAuthProviderDto[];
  /** Whether anyone may register (USERS_ALLOW_SELF_REGISTER); a first OAuth sign-in registers too. */
  self_register: boolean;
  /** Whether unverified users may use the API (USERS_ALLOW_UNVERIFIED_USER). */
  allow_unverified: boolean;
}
