import { Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy as OAuth2Strategy, StrategyOptions } from 'passport-oauth2';
import { OAuthClient, OAuthConfig, OAuthProviderName } from '../config/oauth.config';
import { OAuthProfile } from './oauth-profile';

const HTTP_TIMEOUT_MS = 5000;

/** The injection token of the enabled providers' names (their strategies are registered with passport). */
export const OAUTH_ENABLED_PROVIDERS = 'OAUTH_ENABLED_PROVIDERS';

/** The authorization-code flow with PKCE (S256) and our state store, for every provider. */
function flowOptions(client: OAuthClient, endpoints: { authorizationURL: string; tokenURL: string }, scope: string, store: object): StrategyOptions {
  return {
    ...endpoints,
    clientID: client.clientId,
    clientSecret: client.clientSecret,
    callbackURL: client.callbackUrl,
    scope,
    pkce: true,
    state: true,
    store: store as StrategyOptions['store'],
  };
}

async function getJson<T>(url: string, accessToken: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json', ...headers }, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as T;
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
}

/** The issuer's OpenID Connect discovery document; its `issuer` must be the one configured. */
export async function discover(issuer: string, variable: string): Promise<Discovery> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`it answered ${response.status}`);
    const document = (await response.json()) as Discovery;
    if (document.issuer.replace(/\/$/, '') !== issuer.replace(/\/$/, '')) throw new Error(`it names the issuer ${document.issuer}`);
    for (const field of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint'] as const) {
      if (typeof document[field] !== 'string') throw new Error(`it has no ${field}`);
    }
    return document;
  } catch (error) {
    throw new Error(`Invalid configuration:\n  ${variable}: OpenID Connect discovery at ${url} failed: ${(error as Error).message}`);
  }
}

interface UserInfo {
  sub: string;
  email?: string;
  email_verified?: boolean | string;
  name?: string;
  preferred_username?: string;
  picture?: string;
}

/** Google and any OpenID Connect issuer: the profile is the userinfo endpoint's answer. */
function oidcStrategy(name: 'google' | 'oidc') {
  return class extends PassportStrategy(OAuth2Strategy, name) {
    constructor(
      client: OAuthClient,
      private readonly discovery: Discovery,
      store: object,
    ) {
      super(flowOptions(client, { authorizationURL: discovery.authorization_endpoint, tokenURL: discovery.token_endpoint }, 'openid email profile', store));
    }

    async validate(accessToken: string): Promise<OAuthProfile> {
      const info = await getJson<UserInfo>(this.discovery.userinfo_endpoint, accessToken);
      if (typeof info.sub !== 'string' || !info.sub) throw new Error('userinfo without sub');
      return {
        provider: name,
        subject: info.sub,
        email: info.email?.toLowerCase(),
        emailVerified: info.email_verified === true || info.email_verified === 'true',
        name: info.name,
        username: info.preferred_username,
        picture: info.picture,
      };
    }
  };
}

export const GoogleStrategy = oidcStrategy('google');
export const OidcStrategy = oidcStrategy('oidc');

interface GithubUser {
  id: number;
  login: string;
  name: string | null;
  avatar_url: string | null;
}
interface GithubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

/** GitHub (or GitHub Enterprise Server): the profile is /user, the address the primary one of /user/emails. */
export class GithubStrategy extends PassportStrategy(OAuth2Strategy, 'github') {
  constructor(
    client: OAuthClient,
    private readonly apiUrl: string,
    webUrl: string,
    store: object,
  ) {
    super(flowOptions(client, { authorizationURL: `${webUrl}/login/oauth/authorize`, tokenURL: `${webUrl}/login/oauth/access_token` }, 'read:user user:email', store));
  }

  async validate(accessToken: string): Promise<OAuthProfile> {
    const headers = { Accept: 'application/vnd.github+json', 'User-Agent': 'users-service' };
    const [user, emails] = await Promise.all([
      getJson<GithubUser>(`${this.apiUrl}/user`, accessToken, headers),
      getJson<GithubEmail[]>(`${this.apiUrl}/user/emails`, accessToken, headers),
    ]);
    const primary = emails.find((email) => email.primary);
    return {
      provider: 'github',
      subject: String(user.id),
      email: primary?.email.toLowerCase(),
      emailVerified: primary?.verified === true,
      name: user.name ?? undefined,
      username: user.login,
      picture: user.avatar_url ?? undefined,
    };
  }
}

interface GitlabUser {
  id: number;
  username: string;
  name: string | null;
  email: string | null;
  avatar_url: string | null;
}

/**
 * GitLab (gitlab.com or self-hosted, GITLAB_URL): the profile is /api/v4/user. Its `email` is the
 * primary address, which GitLab lets be only a confirmed one: verified, as GoTrue takes it.
 */
export class GitlabStrategy extends PassportStrategy(OAuth2Strategy, 'gitlab') {
  constructor(
    client: OAuthClient,
    private readonly url: string,
    store: object,
  ) {
    super(flowOptions(client, { authorizationURL: `${url}/oauth/authorize`, tokenURL: `${url}/oauth/token` }, 'read_user', store));
  }

  async validate(accessToken: string): Promise<OAuthProfile> {
    const user = await getJson<GitlabUser>(`${this.url}/api/v4/user`, accessToken);
    const email = user.email?.trim().toLowerCase() || undefined;
    return { provider: 'gitlab', subject: String(user.id), email, emailVerified: email !== undefined, name: user.name ?? undefined, username: user.username, picture: user.avatar_url ?? undefined };
  }
}

interface BitbucketUser {
  uuid: string;
  username?: string;
  nickname?: string;
  display_name?: string;
  links?: { avatar?: { href?: string } };
}
interface BitbucketEmails {
  values: { email: string; is_primary: boolean; is_confirmed: boolean }[];
}

/** Bitbucket Cloud: the profile is /user, the address the primary one of /user/emails (verified when confirmed). */
export class BitbucketStrategy extends PassportStrategy(OAuth2Strategy, 'bitbucket') {
  constructor(
    client: OAuthClient,
    private readonly apiUrl: string,
    webUrl: string,
    store: object,
  ) {
    super(flowOptions(client, { authorizationURL: `${webUrl}/site/oauth2/authorize`, tokenURL: `${webUrl}/site/oauth2/access_token` }, 'account email', store));
  }

  async validate(accessToken: string): Promise<OAuthProfile> {
    const [user, emails] = await Promise.all([getJson<BitbucketUser>(`${this.apiUrl}/user`, accessToken), getJson<BitbucketEmails>(`${this.apiUrl}/user/emails`, accessToken)]);
    const primary = emails.values.find((email) => email.is_primary);
    return {
      provider: 'bitbucket',
      subject: user.uuid,
      email: primary?.email.toLowerCase(),
      emailVerified: primary?.is_confirmed === true,
      name: user.display_name,
      username: user.username ?? user.nickname,
      picture: user.links?.avatar?.href,
    };
  }
}

/** Builds the strategies of the enabled providers (discovering OIDC endpoints first); each registers itself with passport. */
export async function createStrategies(config: OAuthConfig, store: (provider: OAuthProviderName) => object): Promise<OAuthProviderName[]> {
  const enabled: OAuthProviderName[] = [];
  if (config.google) {
    new GoogleStrategy(config.google, await discover(config.googleIssuer, 'GOOGLE_ISSUER_URL'), store('google'));
    enabled.push('google');
  }
  if (config.github) {
    new GithubStrategy(config.github, config.githubApiUrl, config.githubUrl, store('github'));
    enabled.push('github');
  }
  if (config.gitlab) {
    new GitlabStrategy(config.gitlab, config.gitlabUrl, store('gitlab'));
    enabled.push('gitlab');
  }
  if (config.bitbucket) {
    new BitbucketStrategy(config.bitbucket, config.bitbucketApiUrl, config.bitbucketUrl, store('bitbucket'));
    enabled.push('bitbucket');
  }
  if (config.oidc && config.oidcIssuer) {
    new OidcStrategy(config.oidc, await discover(config.oidcIssuer, 'OIDC_ISSUER_URL'), store('oidc'));
    enabled.push('oidc');
  }
  if (enabled.length > 0) new Logger('OAuth').log(`providers enabled: ${enabled.join(', ')}`);
  return enabled;
}
