import { applyGoTrueAliases, gotrueConfig } from './gotrue.config';
import { ConfigError } from './validate-config';
import { namespaceUnderEnv } from '../../test/support/config-namespace';

const { configWith, problemsWith } = namespaceUnderEnv(gotrueConfig);

/** The environment after GoTrue's names were applied, or the problems they have. */
function aliased(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv | string[] {
  const copy = { ...env };
  try {
    applyGoTrueAliases(copy);
    return copy;
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe("GoTrue's setting names (#14)", () => {
  it('set our variables, converting seconds and the negated DISABLE_SIGNUP, with or without the GOTRUE_ prefix', () => {
    expect(
      aliased({
        JWT_EXP: '3600',
        GOTRUE_JWT_AUD: 'authenticated',
        DISABLE_SIGNUP: 'true',
        MAILER_AUTOCONFIRM: 'false',
        GOTRUE_SMTP_MAX_FREQUENCY: '900',
        MAILER_SUBJECTS_CONFIRMATION: 'Confirm Your Signup',
        MAILER_SUBJECTS_RECOVERY: 'Reset Your Password',
        MAILER_SUBJECTS_INVITE: 'You have been invited',
        MAILER_SUBJECTS_EMAIL_CHANGE: 'Confirm Email Change',
        EXTERNAL_GITHUB_CLIENT_ID: 'id',
        EXTERNAL_GITHUB_SECRET: 'secret',
        EXTERNAL_GITHUB_REDIRECT_URI: 'https://users.example.com/oauth/callback/github',
        EXTERNAL_GITHUB_URL: 'https://github.example.com',
      }),
    ).toMatchObject({
      USERS_ACCESS_TOKEN_DURATION: '3600s',
      USERS_JWT_AUDIENCE: 'authenticated',
      USERS_ALLOW_SELF_REGISTER: 'false',
      USERS_ALLOW_UNVERIFIED_USER: 'false',
      EMAIL_MIN_INTERVAL: '900s',
      EMAIL_VERIFICATION_SUBJECT: 'Confirm Your Signup',
      EMAIL_PASSWORD_RESET_SUBJECT: 'Reset Your Password',
      EMAIL_INVITE_SUBJECT: 'You have been invited',
      EMAIL_CHANGED_SUBJECT: 'Confirm Email Change',
      GITHUB_CLIENT_ID: 'id',
      GITHUB_CLIENT_SECRET: 'secret',
      GITHUB_REDIRECT_URL: 'https://users.example.com/oauth/callback/github',
      GITHUB_URL: 'https://github.example.com',
    });
  });

  it('refuse two different values for one setting, naming both', () => {
    expect(aliased({ JWT_EXP: '600', USERS_ACCESS_TOKEN_DURATION: '15m' })).toEqual([
      "JWT_EXP (GoTrue's name of USERS_ACCESS_TOKEN_DURATION) and USERS_ACCESS_TOKEN_DURATION are both set, to different values: set one",
    ]);
    expect(aliased({ JWT_EXP: '600', USERS_ACCESS_TOKEN_DURATION: '600s' })).toMatchObject({ USERS_ACCESS_TOKEN_DURATION: '600s' });
  });

  it('EXTERNAL_<P>_ENABLED: false turns the provider off, true needs its client id and secret', () => {
    const off = aliased({ EXTERNAL_GOOGLE_ENABLED: 'false', GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret' }) as NodeJS.ProcessEnv;
    expect(off.GOOGLE_CLIENT_ID).toBeUndefined();
    expect(off.GOOGLE_CLIENT_SECRET).toBeUndefined();
    expect(aliased({ EXTERNAL_GITHUB_ENABLED: 'true' })).toEqual(['EXTERNAL_GITHUB_ENABLED=true needs EXTERNAL_GITHUB_CLIENT_ID and EXTERNAL_GITHUB_SECRET (github)']);
    expect(aliased({ EXTERNAL_GITHUB_ENABLED: 'yes please' })).toEqual(['EXTERNAL_GITHUB_ENABLED must be true or false (got "yes please")']);
  });

  it('are validated under their own names too', () => {
    expect(problemsWith({ JWT_EXP: 'an hour' })).toEqual(['JWT_EXP must be a whole number 1 or more (got "an hour")']);
    expect(problemsWith({ SITE_URL: 'not a url' })).toEqual(['SITE_URL must be a URL address']);
  });
});

describe('gotrueConfig', () => {
  it('mounts the API at /auth/v1 by default, elsewhere by GOTRUE_COMPAT_PREFIX, nowhere when it is set empty', () => {
    expect(configWith({}).prefix).toBe('/auth/v1');
    expect(configWith({ GOTRUE_COMPAT_PREFIX: '/gotrue/' }).prefix).toBe('/gotrue');
    expect(configWith({ GOTRUE_COMPAT_PREFIX: '' }).prefix).toBeUndefined();
    expect(problemsWith({ GOTRUE_COMPAT_PREFIX: 'auth v1' })).toEqual(['GOTRUE_COMPAT_PREFIX must be a path such as /auth/v1, or empty to turn the GoTrue API off']);
  });

  it("links mails to the prefix's /verify under USERS_PUBLIC_URL, or to MAILER_URLPATHS_* (a path there, or a URL)", () => {
    const config = configWith({ USERS_PUBLIC_URL: 'https://users.example.com', MAILER_URLPATHS_RECOVERY: '/auth/v1/verify-recovery', MAILER_URLPATHS_INVITE: 'https://app.example.com/invite' });
    expect(config.linkBases).toEqual({
      confirmation: 'https://users.example.com/auth/v1/verify',
      email_change: 'https://users.example.com/auth/v1/verify',
      recovery: 'https://users.example.com/auth/v1/verify-recovery',
      invite: 'https://app.example.com/invite',
    });
    expect(configWith({ GOTRUE_SITE_URL: 'https://app.example.com/' }).siteUrl).toBe('https://app.example.com/');
  });
});
