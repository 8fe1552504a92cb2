import { registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, IsUrl, Matches, ValidateIf } from 'class-validator';
import { PublicUrlEnv, URL_OPTIONS, publicLink } from './public-url';
import { ConfigError, IsIntegerBetween, toBoolean, unlessEmpty, validateConfig } from './validate-config';

/** GoTrue's external providers that this service has, by GoTrue's name, with our variables' prefix. */
const EXTERNAL_PROVIDERS = { google: 'GOOGLE', github: 'GITHUB', gitlab: 'GITLAB', bitbucket: 'BITBUCKET' } as const;

/** The mails whose link GoTrue configures by type (MAILER_URLPATHS_* and the `type` of /verify). */
export const GOTRUE_LINK_TYPES = ['confirmation', 'recovery', 'invite', 'email_change'] as const;
export type GoTrueLinkType = (typeof GOTRUE_LINK_TYPES)[number];

/**
 * GoTrue's setting names (each also with GoTrue's `GOTRUE_` prefix) for the variables of ours that mean
 * the same: applied before any namespace reads the environment (applyGoTrueAliases), so that each is
 * validated once, by the variable it stands for. `to` turns GoTrue's value into ours.
 */
const ALIASES: { alias: string; ours: string; to?: (value: string) => string }[] = [
  { alias: 'JWT_EXP', ours: 'USERS_ACCESS_TOKEN_DURATION', to: seconds },
  { alias: 'JWT_AUD', ours: 'USERS_JWT_AUDIENCE' },
  { alias: 'DISABLE_SIGNUP', ours: 'USERS_ALLOW_SELF_REGISTER', to: negated },
  { alias: 'MAILER_AUTOCONFIRM', ours: 'USERS_ALLOW_UNVERIFIED_USER' },
  { alias: 'SMTP_MAX_FREQUENCY', ours: 'EMAIL_MIN_INTERVAL', to: seconds },
  { alias: 'MAILER_SUBJECTS_CONFIRMATION', ours: 'EMAIL_VERIFICATION_SUBJECT' },
  { alias: 'MAILER_SUBJECTS_RECOVERY', ours: 'EMAIL_PASSWORD_RESET_SUBJECT' },
  { alias: 'MAILER_SUBJECTS_INVITE', ours: 'EMAIL_INVITE_SUBJECT' },
  { alias: 'MAILER_SUBJECTS_EMAIL_CHANGE', ours: 'EMAIL_CHANGED_SUBJECT' },
  ...Object.values(EXTERNAL_PROVIDERS).flatMap((ours) => [
    { alias: `EXTERNAL_${ours}_CLIENT_ID`, ours: `${ours}_CLIENT_ID` },
    { alias: `EXTERNAL_${ours}_SECRET`, ours: `${ours}_CLIENT_SECRET` },
    { alias: `EXTERNAL_${ours}_REDIRECT_URI`, ours: `${ours}_REDIRECT_URL` },
  ]),
  { alias: 'EXTERNAL_GITHUB_URL', ours: 'GITHUB_URL' },
  { alias: 'EXTERNAL_GITLAB_URL', ours: 'GITLAB_URL' },
  { alias: 'EXTERNAL_BITBUCKET_URL', ours: 'BITBUCKET_URL' },
  { alias: 'EXTERNAL_GOOGLE_URL', ours: 'GOOGLE_ISSUER_URL' },
];

/** A whole number of seconds (GoTrue's JWT_EXP, SMTP_MAX_FREQUENCY) as our duration; anything else is left for our validation to name. */
function seconds(value: string): string {
  return /^\s*\d+\s*$/.test(value) ? `${value.trim()}s` : value;
}

function negated(value: string): string {
  const parsed = toBoolean({ value });
  return typeof parsed === 'boolean' ? String(!parsed) : value;
}

/** GoTrue's name, or the same with its GOTRUE_ prefix (the prefixed one wins, as in GoTrue). */
export const goTrueValue = (env: NodeJS.ProcessEnv, name: string): string | undefined => env[`GOTRUE_${name}`] || env[name] || undefined;

/**
 * Sets each of our variables from its GoTrue alias when the alias is set (ours unset: the alias's
 * value; both set to different values: a ConfigError naming both). EXTERNAL_<P>_ENABLED=false turns
 * the provider off (its client id and secret are dropped); =true needs its client id and secret. Runs once per
 * configuration load, before the namespaces validate.
 */
export function applyGoTrueAliases(env: NodeJS.ProcessEnv): void {
  const problems: string[] = [];
  for (const { alias, ours, to } of ALIASES) {
    const given = goTrueValue(env, alias);
    if (given === undefined) continue;
    const value = to ? to(given) : given;
    if (env[ours] !== undefined && env[ours] !== '' && env[ours] !== value) {
      problems.push(`${alias} (GoTrue's name of ${ours}) and ${ours} are both set, to different values: set one`);
      continue;
    }
    env[ours] = value;
  }
  for (const [provider, ours] of Object.entries(EXTERNAL_PROVIDERS)) {
    const enabled = goTrueValue(env, `EXTERNAL_${ours}_ENABLED`);
    if (enabled === undefined) continue;
    const on = toBoolean({ value: enabled });
    if (typeof on !== 'boolean') problems.push(`EXTERNAL_${ours}_ENABLED must be true or false (got "${enabled}")`);
    else if (!on) {
      delete env[`${ours}_CLIENT_ID`];
      delete env[`${ours}_CLIENT_SECRET`];
    }
    else if (!env[`${ours}_CLIENT_ID`] || !env[`${ours}_CLIENT_SECRET`]) problems.push(`EXTERNAL_${ours}_ENABLED=true needs EXTERNAL_${ours}_CLIENT_ID and EXTERNAL_${ours}_SECRET (${provider})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/** Every GoTrue name accepted (for the README and the typo warnings). */
export const GOTRUE_ALIAS_NAMES = [...ALIASES.map(({ alias }) => alias), ...Object.values(EXTERNAL_PROVIDERS).map((ours) => `EXTERNAL_${ours}_ENABLED`)];

class GoTrueEnv extends PublicUrlEnv {
  /** Where the GoTrue-compatible API is mounted; empty: not mounted. */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().replace(/\/$/, '') : value))
  @Matches(/^(\/[A-Za-z0-9._~-]+)*$/, { message: 'GOTRUE_COMPAT_PREFIX must be a path such as /auth/v1, or empty to turn the GoTrue API off' })
  GOTRUE_COMPAT_PREFIX = '/auth/v1';

  /** GoTrue's SITE_URL: where GET /verify and /authorize land when no `redirect_to` is given (or it is not allowed). */
  @ValidateIf((env: GoTrueEnv) => env.SITE_URL !== undefined)
  @IsUrl(URL_OPTIONS)
  SITE_URL?: string;

  /** The link of each GoTrue mail: a URL, or a path under USERS_PUBLIC_URL; the prefix's /verify when unset. */
  @IsOptional() @IsString() MAILER_URLPATHS_CONFIRMATION?: string;
  @IsOptional() @IsString() MAILER_URLPATHS_RECOVERY?: string;
  @IsOptional() @IsString() MAILER_URLPATHS_INVITE?: string;
  @IsOptional() @IsString() MAILER_URLPATHS_EMAIL_CHANGE?: string;

  // The aliases, validated by the variables they stand for; listed here as known names.
  @IsOptional() @IsIntegerBetween(1) JWT_EXP?: number;
  @IsOptional() @IsString() JWT_AUD?: string;
  @IsOptional() @Transform(toBoolean) @IsBoolean() DISABLE_SIGNUP?: boolean;
  @IsOptional() @Transform(toBoolean) @IsBoolean() MAILER_AUTOCONFIRM?: boolean;
  @IsOptional() @IsIntegerBetween(0) SMTP_MAX_FREQUENCY?: number;
  @IsOptional() @IsString() MAILER_SUBJECTS_CONFIRMATION?: string;
  @IsOptional() @IsString() MAILER_SUBJECTS_RECOVERY?: string;
  @IsOptional() @IsString() MAILER_SUBJECTS_INVITE?: string;
  @IsOptional() @IsString() MAILER_SUBJECTS_EMAIL_CHANGE?: string;
  @IsOptional() @Transform(toBoolean) @IsBoolean() EXTERNAL_GOOGLE_ENABLED?: boolean;
  @IsOptional() @IsString() EXTERNAL_GOOGLE_CLIENT_ID?: string;
  @IsOptional() @IsString() EXTERNAL_GOOGLE_SECRET?: string;
  @IsOptional() @IsString() EXTERNAL_GOOGLE_REDIRECT_URI?: string;
  @IsOptional() @IsString() EXTERNAL_GOOGLE_URL?: string;
  @IsOptional() @Transform(toBoolean) @IsBoolean() EXTERNAL_GITHUB_ENABLED?: boolean;
  @IsOptional() @IsString() EXTERNAL_GITHUB_CLIENT_ID?: string;
  @IsOptional() @IsString() EXTERNAL_GITHUB_SECRET?: string;
  @IsOptional() @IsString() EXTERNAL_GITHUB_REDIRECT_URI?: string;
  @IsOptional() @IsString() EXTERNAL_GITHUB_URL?: string;
  @IsOptional() @Transform(toBoolean) @IsBoolean() EXTERNAL_GITLAB_ENABLED?: boolean;
  @IsOptional() @IsString() EXTERNAL_GITLAB_CLIENT_ID?: string;
  @IsOptional() @IsString() EXTERNAL_GITLAB_SECRET?: string;
  @IsOptional() @IsString() EXTERNAL_GITLAB_REDIRECT_URI?: string;
  @IsOptional() @IsString() EXTERNAL_GITLAB_URL?: string;
  @IsOptional() @Transform(toBoolean) @IsBoolean() EXTERNAL_BITBUCKET_ENABLED?: boolean;
  @IsOptional() @IsString() EXTERNAL_BITBUCKET_CLIENT_ID?: string;
  @IsOptional() @IsString() EXTERNAL_BITBUCKET_SECRET?: string;
  @IsOptional() @IsString() EXTERNAL_BITBUCKET_REDIRECT_URI?: string;
  @IsOptional() @IsString() EXTERNAL_BITBUCKET_URL?: string;
}

/** A MAILER_URLPATHS_* value as a whole URL: as given when absolute, else under the public URL. */
function linkBase(publicUrl: string, path: string): string {
  return /^https?:\/\//.test(path) ? path : publicLink(publicUrl, path.startsWith('/') ? path : `/${path}`);
}

export const gotrueConfig = registerAs('gotrue', () => {
  const env = validateConfig({ ...process.env, SITE_URL: goTrueValue(process.env, 'SITE_URL') }, GoTrueEnv);
  // Set but empty: off (unlike most variables, where empty means the default).
  const prefix = unlessEmpty(process.env, 'GOTRUE_COMPAT_PREFIX', env.GOTRUE_COMPAT_PREFIX);
  const verify = publicLink(env.USERS_PUBLIC_URL, `${prefix ?? ''}/verify`);
  const paths: Record<GoTrueLinkType, string | undefined> = {
    confirmation: goTrueValue(process.env, 'MAILER_URLPATHS_CONFIRMATION'),
    recovery: goTrueValue(process.env, 'MAILER_URLPATHS_RECOVERY'),
    invite: goTrueValue(process.env, 'MAILER_URLPATHS_INVITE'),
    email_change: goTrueValue(process.env, 'MAILER_URLPATHS_EMAIL_CHANGE'),
  };
  return {
    /** Undefined: the GoTrue API is off. */
    prefix: prefix || undefined,
    /** Undefined: the UI's own redirect (OAUTH_UI_REDIRECT_URL) stands in (see GoTrueLinks). */
    siteUrl: env.SITE_URL,
    /** The page each mail's link opens (`?token=…&type=…&redirect_to=…` is added). */
    linkBases: Object.fromEntries(GOTRUE_LINK_TYPES.map((type) => [type, paths[type] ? linkBase(env.USERS_PUBLIC_URL, paths[type]) : verify])) as Record<GoTrueLinkType, string>,
  };
});

export type GoTrueConfig = ReturnType<typeof gotrueConfig>;
