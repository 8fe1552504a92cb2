import { registerAs } from '@nestjs/config';
import { IsOptional, IsString, IsUrl, ValidateIf } from 'class-validator';
import { PublicUrlEnv, URL_OPTIONS, publicLink } from './public-url';
import { ConfigError, validateConfig } from './validate-config';

export const OAUTH_PROVIDERS = ['google', 'github', 'gitlab', 'bitbucket', 'oidc'] as const;
export type OAuthProviderName = (typeof OAUTH_PROVIDERS)[number];

class OAuthEnv extends PublicUrlEnv {
  /** Where the browser lands after a successful login (a page of the UI). */
  @IsUrl(URL_OPTIONS)
  OAUTH_UI_REDIRECT_URL = 'http://localhost:9095/domains';

  /** Where the browser lands after a failed login, with `?error=<code>`. */
  @IsUrl(URL_OPTIONS)
  OAUTH_UI_ERROR_URL = 'http://localhost:9095/error';

  /** Origins (comma-separated) that `redirect_to` may point into and that may call the API with cookies (CORS). */
  @IsOptional()
  @IsString()
  OAUTH_ALLOWED_REDIRECT_ORIGINS?: string;

  @IsOptional() @IsString() GOOGLE_CLIENT_ID?: string;
  @IsOptional() @IsString() GOOGLE_CLIENT_SECRET?: string;
  @ValidateIf((env: OAuthEnv) => env.GOOGLE_REDIRECT_URL !== undefined) @IsUrl(URL_OPTIONS) GOOGLE_REDIRECT_URL?: string;
  /** Google's endpoints come from this issuer's discovery document. */
  @IsUrl(URL_OPTIONS) GOOGLE_ISSUER_URL = 'https://accounts.google.com';

  @IsOptional() @IsString() GITHUB_CLIENT_ID?: string;
  @IsOptional() @IsString() GITHUB_CLIENT_SECRET?: string;
  @ValidateIf((env: OAuthEnv) => env.GITHUB_REDIRECT_URL !== undefined) @IsUrl(URL_OPTIONS) GITHUB_REDIRECT_URL?: string;
  /** GitHub, or a GitHub Enterprise Server (`https://github.example.com`). */
  @IsUrl(URL_OPTIONS) GITHUB_URL = 'https://github.com';
  /** Its REST API (`https://github.example.com/api/v3` for GitHub Enterprise Server). */
  @IsUrl(URL_OPTIONS) GITHUB_API_URL = 'https://api.github.com';

  @IsOptional() @IsString() GITLAB_CLIENT_ID?: string;
  @IsOptional() @IsString() GITLAB_CLIENT_SECRET?: string;
  @ValidateIf((env: OAuthEnv) => env.GITLAB_REDIRECT_URL !== undefined) @IsUrl(URL_OPTIONS) GITLAB_REDIRECT_URL?: string;
  /** gitlab.com, or a self-hosted GitLab (`https://gitlab.example.com`): its OAuth endpoints and its API (/api/v4). */
  @IsUrl(URL_OPTIONS) GITLAB_URL = 'https://gitlab.com';

  @IsOptional() @IsString() BITBUCKET_CLIENT_ID?: string;
  @IsOptional() @IsString() BITBUCKET_CLIENT_SECRET?: string;
  @ValidateIf((env: OAuthEnv) => env.BITBUCKET_REDIRECT_URL !== undefined) @IsUrl(URL_OPTIONS) BITBUCKET_REDIRECT_URL?: string;
  /** Bitbucket Cloud's OAuth endpoints. */
  @IsUrl(URL_OPTIONS) BITBUCKET_URL = 'https://bitbucket.org';
  /** Bitbucket Cloud's REST API. */
  @IsUrl(URL_OPTIONS) BITBUCKET_API_URL = 'https://api.bitbucket.org/2.0';

  /** Any OpenID Connect issuer; its endpoints come from its discovery document. */
  @ValidateIf((env: OAuthEnv) => env.OIDC_ISSUER_URL !== undefined) @IsUrl(URL_OPTIONS) OIDC_ISSUER_URL?: string;
  @IsOptional() @IsString() OIDC_CLIENT_ID?: string;
  @IsOptional() @IsString() OIDC_CLIENT_SECRET?: string;
  @ValidateIf((env: OAuthEnv) => env.OIDC_REDIRECT_URL !== undefined) @IsUrl(URL_OPTIONS) OIDC_REDIRECT_URL?: string;
  /** Shown on sign-in buttons (GET /oauth/providers). */
  @IsString() OIDC_DISPLAY_NAME = 'OpenID Connect';
}

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  /** Our callback, as registered with the provider. */
  callbackUrl: string;
}

export const oauthConfig = registerAs('oauth', () => {
  const env = validateConfig(process.env, OAuthEnv);
  const client = (provider: OAuthProviderName, id?: string, secret?: string, redirect?: string): OAuthClient | undefined =>
    id && secret ? { clientId: id, clientSecret: secret, callbackUrl: redirect ?? publicLink(env.USERS_PUBLIC_URL, `/oauth/callback/${provider}`) } : undefined;
  const problems: string[] = [];
  for (const [provider, id, secret] of [
    ['GOOGLE', env.GOOGLE_CLIENT_ID, env.GOOGLE_CLIENT_SECRET],
    ['GITHUB', env.GITHUB_CLIENT_ID, env.GITHUB_CLIENT_SECRET],
    ['GITLAB', env.GITLAB_CLIENT_ID, env.GITLAB_CLIENT_SECRET],
    ['BITBUCKET', env.BITBUCKET_CLIENT_ID, env.BITBUCKET_CLIENT_SECRET],
    ['OIDC', env.OIDC_CLIENT_ID, env.OIDC_CLIENT_SECRET],
  ]) {
    if (Boolean(id) !== Boolean(secret)) problems.push(`${provider}_CLIENT_ID and ${provider}_CLIENT_SECRET must be set together`);
  }
  const oidc = client('oidc', env.OIDC_CLIENT_ID, env.OIDC_CLIENT_SECRET, env.OIDC_REDIRECT_URL);
  if (oidc && !env.OIDC_ISSUER_URL) problems.push('OIDC_ISSUER_URL is required with OIDC_CLIENT_ID');
  const allowedOrigins = (env.OAUTH_ALLOWED_REDIRECT_ORIGINS ?? new URL(env.OAUTH_UI_REDIRECT_URL).origin)
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of allowedOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin) || new URL(origin).origin !== origin) problems.push(`OAUTH_ALLOWED_REDIRECT_ORIGINS: "${origin}" is not an origin such as https://app.example.com`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const ui = new URL(env.OAUTH_UI_REDIRECT_URL);
  return {
    uiRedirectUrl: env.OAUTH_UI_REDIRECT_URL,
    uiErrorUrl: env.OAUTH_UI_ERROR_URL,
    allowedOrigins,
    /** Cookies are Secure unless the UI is served over http from this machine (development). */
    secureCookies: !(ui.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(ui.hostname)),
    google: client('google', env.GOOGLE_CLIENT_ID, env.GOOGLE_CLIENT_SECRET, env.GOOGLE_REDIRECT_URL),
    googleIssuer: env.GOOGLE_ISSUER_URL,
    github: client('github', env.GITHUB_CLIENT_ID, env.GITHUB_CLIENT_SECRET, env.GITHUB_REDIRECT_URL),
    githubUrl: env.GITHUB_URL.replace(/\/$/, ''),
    githubApiUrl: env.GITHUB_API_URL.replace(/\/$/, ''),
    gitlab: client('gitlab', env.GITLAB_CLIENT_ID, env.GITLAB_CLIENT_SECRET, env.GITLAB_REDIRECT_URL),
    gitlabUrl: env.GITLAB_URL.replace(/\/$/, ''),
    bitbucket: client('bitbucket', env.BITBUCKET_CLIENT_ID, env.BITBUCKET_CLIENT_SECRET, env.BITBUCKET_REDIRECT_URL),
    bitbucketUrl: env.BITBUCKET_URL.replace(/\/$/, ''),
    bitbucketApiUrl: env.BITBUCKET_API_URL.replace(/\/$/, ''),
    oidc,
    oidcIssuer: env.OIDC_ISSUER_URL,
    oidcDisplayName: env.OIDC_DISPLAY_NAME,
  };
});

export type OAuthConfig = ReturnType<typeof oauthConfig>;
