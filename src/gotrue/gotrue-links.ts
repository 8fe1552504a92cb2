import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { GoTrueLinkType, gotrueConfig } from '../config/gotrue.config';
import { oauthConfig } from '../config/oauth.config';
import { LinkBuilder } from '../mail/link-mailer.service';
import { OAuthService } from '../oauth/oauth.service';
import { VerifyType } from './dto/gotrue.dto';

/** The `type` of /verify that each mail's link carries. */
const VERIFY_TYPE: Record<GoTrueLinkType, VerifyType> = { confirmation: 'signup', recovery: 'recovery', invite: 'invite', email_change: 'email_change' };

/**
 * Where the GoTrue API sends browsers: the mailed links (to its /verify, or MAILER_URLPATHS_*), and
 * the redirect after a link, which must stay on the site (SITE_URL's origin) or an origin of
 * OAUTH_ALLOWED_REDIRECT_ORIGINS (the OAuth module's redirect rule); any other `redirect_to` falls
 * back to the site URL, as GoTrue's allow list does (no open redirect).
 */
@Injectable()
export class GoTrueLinks {
  readonly siteUrl: string;
  private readonly siteOrigin: string[];

  constructor(
    @Inject(gotrueConfig.KEY) private readonly gotrue: ConfigType<typeof gotrueConfig>,
    @Inject(oauthConfig.KEY) oauth: ConfigType<typeof oauthConfig>,
    private readonly oauthService: OAuthService,
  ) {
    this.siteUrl = gotrue.siteUrl ?? `${new URL(oauth.uiRedirectUrl).origin}/`;
    this.siteOrigin = [new URL(this.siteUrl).origin];
  }

  /** `redirect_to` when the OAuth module's redirect rule allows it (the site's origin too), else the site URL. */
  redirect(redirectTo: string | undefined): string {
    return this.oauthService.allowedRedirectOf(redirectTo, this.siteOrigin) ?? this.siteUrl;
  }

  /** The link of a mail of this type, landing on `redirectTo` (when allowed) once followed. */
  mailLink(type: GoTrueLinkType, redirectTo: string | undefined): LinkBuilder {
    return (token) => {
      const url = new URL(this.gotrue.linkBases[type]);
      url.searchParams.set('token', token);
      url.searchParams.set('type', VERIFY_TYPE[type]);
      url.searchParams.set('redirect_to', this.redirect(redirectTo));
      return url.toString();
    };
  }

  /** The redirect with GoTrue's fragment (`#access_token=…` on success, `#error=…` on failure). */
  withFragment(redirect: string, values: Record<string, string>): string {
    const url = new URL(redirect);
    url.hash = new URLSearchParams(values).toString();
    return url.toString();
  }
}
