import { OAuthProviderName } from '../config/oauth.config';

/** What a provider says about the person who signed in, the same for every provider. */
export interface OAuthProfile {
  provider: OAuthProviderName;
  /** The provider's stable id of the person (OIDC `sub`, GitHub's numeric id). */
  subject: string;
  email?: string;
  /** Only a provider-verified address may link to an existing account. */
  emailVerified: boolean;
  name?: string;
  /** A login name to base the generated username on (OIDC preferred_username, GitHub login). */
  username?: string;
  picture?: string;
}

/** Why an OAuth sign-in failed: the `error` of the redirect to OAUTH_UI_ERROR_URL. */
export const OAUTH_FAILURES = [
  'PROVIDER_DISABLED',
  'REDIRECT_NOT_ALLOWED',
  'ACCESS_DENIED',
  'PROVIDER_ERROR',
  'MISSING_CODE',
  'STATE_MISSING',
  'STATE_MISMATCH',
  'STATE_EXPIRED',
  'STATE_REPLAYED',
  'TOKEN_EXCHANGE_FAILED',
  'PROFILE_FAILED',
  'EMAIL_MISSING',
  'EMAIL_NOT_VERIFIED_BY_PROVIDER',
  'ACCOUNT_DISABLED',
  'SELF_REGISTER_DISABLED',
  'SIGNUP_REFUSED_BY_HOOK',
  'SIGNUP_HOOK_UNAVAILABLE',
  'INTERNAL',
] as const;
export type OAuthFailureCode = (typeof OAUTH_FAILURES)[number];

export class OAuthFailure extends Error {
  constructor(
    readonly code: OAuthFailureCode,
    message: string = code,
  ) {
    super(message);
  }
}
