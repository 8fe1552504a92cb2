import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminConfig } from './admin.config';
import { loadConfiguration, problemsOf as namespaceProblems } from './config-module.options';
import { FROM_ENV_FILE, loadDevelopmentEnvFile } from './env-file';
import { eventsConfig } from './events.config';
import { mailConfig } from './mail.config';
import { oauthConfig } from './oauth.config';
import { runMode } from './run-mode';
import { closestVariable, editDistance } from './typo-warnings';
import { ConfigError } from './validate-config';

const SECRET = 'unit-test-secret-key-that-is-long-enough-0123';
const DEV_KEY = 'development-only-secret-key-change-me-in-production';

const originalEnv = process.env;
let dir: string;
function useEnv(env: Record<string, string>) {
  process.env = { ...env };
}
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'users-config-'));
  FROM_ENV_FILE.clear();
  useEnv({});
});
afterEach(() => {
  process.env = originalEnv;
  rmSync(dir, { recursive: true, force: true });
});

/** loadConfiguration's error, with every problem it names. */
function problemsOf(cwd = dir): string[] {
  try {
    loadConfiguration(cwd);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('the configuration was accepted');
}

describe('run mode (NODE_ENV)', () => {
  it.each([
    [undefined, 'development'],
    ['', 'development'],
    ['development', 'development'],
    ['test', 'test'],
    ['production', 'production'],
    ['staging', 'production'],
    ['prod', 'production'],
  ])('NODE_ENV=%j runs as %s', (value, mode) => {
    expect(runMode(value === undefined ? {} : { NODE_ENV: value })).toBe(mode);
  });
});

describe('.env is read in development only', () => {
  beforeEach(() => writeFileSync(join(dir, '.env'), 'USERS_SECRET_KEY=from-the-file\nUSERS_HTTP_PORT=1234\n'));

  it('development (NODE_ENV unset): read, and the environment wins over it', () => {
    const env: NodeJS.ProcessEnv = { USERS_HTTP_PORT: '9999' };
    loadDevelopmentEnvFile(env, dir);
    expect(env).toEqual({ USERS_HTTP_PORT: '9999', USERS_SECRET_KEY: 'from-the-file' });
    expect([...FROM_ENV_FILE]).toEqual(['USERS_SECRET_KEY']);
  });

  it.each(['production', 'test', 'staging'])('NODE_ENV=%s: not read', (mode) => {
    const env: NodeJS.ProcessEnv = { NODE_ENV: mode };
    loadDevelopmentEnvFile(env, dir);
    expect(env).toEqual({ NODE_ENV: mode });
  });

  it('production with a .env in the working directory: ignored, with a warning; a missing secret is still refused', () => {
    useEnv({ NODE_ENV: 'production', USERS_ADMIN_PASSWORD: 'a-real-admin-password' });
    expect(problemsOf()).toEqual(['USERS_SECRET_KEY is required (e.g. `openssl rand -base64 48`)']);
    useEnv({ NODE_ENV: 'production', USERS_SECRET_KEY: SECRET, USERS_ADMIN_PASSWORD: 'a-real-admin-password' });
    expect(loadConfiguration(dir).warnings).toEqual([expect.stringMatching(/^\.env in .* is ignored outside development/)]);
  });
});

describe('every bad variable at once, with a message that fits', () => {
  it('names the problems of every namespace in one error', () => {
    useEnv({ NODE_ENV: 'test', USERS_DB_PORT: 'abc', USERS_HTTP_PORT: '70000', EMAIL_PORT: '2.5', USERS_ES_MAX_AGE: 'forever' });
    expect(problemsOf()).toEqual([
      'USERS_HTTP_PORT must be a whole number from 0 to 65535 (got "70000")',
      'USERS_DB_PORT must be a whole number from 1 to 65535 (got "abc")',
      'USERS_SECRET_KEY is required (e.g. `openssl rand -base64 48`)',
      'EMAIL_PORT must be a whole number from 1 to 65535 (got "2.5")',
      'USERS_ES_MAX_AGE must be a duration such as 500ms, 30s, 15m or 24h (got "forever")',
    ]);
  });

  it('gathers problems across namespaces, ConfigErrors and plain "Invalid configuration" Errors alike', () => {
    useEnv({ NODE_ENV: 'test', USERS_SECRET_KEY: SECRET, USERS_DB_PORT: 'abc', GITHUB_CLIENT_ID: 'id-without-secret' });
    expect(problemsOf()).toEqual([
      'USERS_DB_PORT must be a whole number from 1 to 65535 (got "abc")',
      'GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET must be set together',
    ]);
    expect(namespaceProblems(new Error('Invalid configuration:\n  USERS_X must be set\n  USERS_Y too'))).toEqual(['USERS_X must be set', 'USERS_Y too']);
    expect(() => namespaceProblems(new Error('something else'))).toThrow('something else');
  });

  it('a short secret says how long it must be, without repeating it', () => {
    useEnv({ NODE_ENV: 'test', USERS_SECRET_KEY: 'short-secret', USERS_SECRET_KEY_PREVIOUS: 'short-old-one' });
    const problems = problemsOf().join('\n');
    expect(problems).toContain('USERS_SECRET_KEY must be at least 32 characters long (it has 12');
    expect(problems).toContain('USERS_SECRET_KEY_PREVIOUS must be at least 32 characters long (it has 13');
    expect(problems).not.toMatch(/short-secret|short-old-one/);
  });

  it('a certificate or key file that cannot be read is named with the reason, not an ENOENT stack', () => {
    useEnv({ NODE_ENV: 'test', USERS_SECRET_KEY: SECRET, USERS_HTTP_SERVER_CERT: '/nonexistent.pem', USERS_HTTP_SERVER_KEY: dir, USERS_DB_SSL_ROOT_CERT: '/nonexistent-ca.pem' });
    expect(problemsOf()).toEqual([
      'USERS_HTTP_SERVER_CERT cannot be read: "/nonexistent.pem" (no such file)',
      `USERS_HTTP_SERVER_KEY cannot be read: "${dir}" (not a file)`,
      'USERS_DB_SSL_ROOT_CERT cannot be read: "/nonexistent-ca.pem" (no such file)',
    ]);
  });
});

describe('production refuses the development defaults (#8.5)', () => {
  const production = { NODE_ENV: 'production', USERS_SECRET_KEY: SECRET, USERS_ADMIN_PASSWORD: 'a-real-admin-password' };

  it('accepts a production configuration', () => {
    useEnv(production);
    expect(loadConfiguration(dir).mode).toBe('production');
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['the development signing key', { USERS_SECRET_KEY: DEV_KEY }, /^USERS_SECRET_KEY is the public development key/],
    ['the development key as the previous key', { USERS_SECRET_KEY_PREVIOUS: DEV_KEY }, /^USERS_SECRET_KEY_PREVIOUS is the public development key/],
    ['the admin password 12345678', { USERS_ADMIN_PASSWORD: '12345678' }, /^USERS_ADMIN_PASSWORD is a well-known default password/],
    ['the admin password "password"', { USERS_ADMIN_PASSWORD: 'password' }, /^USERS_ADMIN_PASSWORD is a well-known default password/],
    ['embedded PGlite', { USERS_DB_DRIVER: 'pglite' }, /^USERS_DB_DRIVER=pglite is for development only/],
    ['mails written to the log', { EMAIL_HOST: '' }, /^EMAIL_HOST is empty/],
  ])('refuses %s', (_name, env, problem) => {
    useEnv({ ...production, ...env });
    expect(problemsOf()).toEqual([expect.stringMatching(problem)]);
  });

  it('outside production the same values are accepted (development runs on them)', () => {
    useEnv({ NODE_ENV: 'development', USERS_SECRET_KEY: DEV_KEY, USERS_ADMIN_PASSWORD: '12345678', USERS_DB_DRIVER: 'pglite', EMAIL_HOST: '' });
    expect(loadConfiguration(dir).mode).toBe('development');
  });

  it('the admin password has no default in production (only the first admin needs it)', () => {
    useEnv({ NODE_ENV: 'production' });
    expect(adminConfig().password).toBeUndefined();
    useEnv({});
    expect(adminConfig().password).toBe('12345678');
  });
});

describe('typo warnings', () => {
  it('edit distance', () => {
    expect(editDistance('USERS_DB_PASS', 'USERS_DB_PASSWORD')).toBe(4);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests the variable that was most likely meant, and nothing for a name far from all', () => {
    const known = ['USERS_DB_PASS', 'USERS_DB_PORT', 'USERS_SECRET_KEY', 'EMAIL_HOST'];
    expect(closestVariable('USERS_DB_PASSWORD', known)).toBe('USERS_DB_PASS');
    expect(closestVariable('USERS_SECERT_KEY', known)).toBe('USERS_SECRET_KEY');
    expect(closestVariable('EMAIL_HOTS', known)).toBe('EMAIL_HOST');
    expect(closestVariable('USERS_SOMETHING_ELSE_ENTIRELY', known)).toBeUndefined();
  });

  it('warns about unknown USERS_/EMAIL_/OAUTH_ variables that look like typos, and only those', () => {
    useEnv({ NODE_ENV: 'test', USERS_SECRET_KEY: SECRET, USERS_DB_PASSWORD: 'x', EMAIL_HOTS: 'smtp', OAUTH_UI_REDIRECT: 'http://x', USERS_FEATURE_FLAGS_OF_OTHERS: '1', HOME_DB_PASS: 'x' });
    expect(loadConfiguration(dir).warnings).toEqual([
      'EMAIL_HOTS is not a variable of this service and is ignored; did you mean EMAIL_HOST?',
      'OAUTH_UI_REDIRECT is not a variable of this service and is ignored; did you mean OAUTH_UI_REDIRECT_URL?',
      'USERS_DB_PASSWORD is not a variable of this service and is ignored; did you mean USERS_DB_PASS?',
    ]);
  });
});

describe('the effective configuration (logged once at startup)', () => {
  it('gives every variable its value and source, with secrets masked', () => {
    writeFileSync(join(dir, '.env'), `USERS_ADMIN_PASSWORD=from-dot-env\nUSERS_LOG_LEVEL=debug\n`);
    useEnv({ USERS_SECRET_KEY: SECRET, USERS_DB_PASS: 'db-password', EMAIL_PASSWORD: 'smtp-password', USERS_ES_URL: 'nats://svc:natspw@nats:4222', USERS_HTTP_PORT: '8080' });
    const { effective, mode } = loadConfiguration(dir);
    expect(mode).toBe('development');
    expect(effective).toMatchObject({
      USERS_HTTP_PORT: { value: '8080', source: 'env' },
      USERS_LOG_LEVEL: { value: 'debug', source: '.env' },
      USERS_DB_PORT: { value: 5432, source: 'default' },
      USERS_SECRET_KEY: { value: '[MASKED]', source: 'env' },
      USERS_SECRET_KEY_PREVIOUS: { value: null, source: 'default' },
      USERS_ADMIN_PASSWORD: { value: '[MASKED]', source: '.env' },
      USERS_DB_PASS: { value: '[MASKED]', source: 'env' },
      EMAIL_PASSWORD: { value: '[MASKED]', source: 'env' },
      USERS_ES_URL: { value: 'nats://[MASKED]@nats:4222', source: 'env' },
      USERS_REFRESH_TOKEN_DURATION: { value: '24h', source: 'default' },
      USERS_PASS_REGEX: { value: '^.{8,}$', source: 'default' },
    });
    const line = JSON.stringify(effective);
    for (const secret of [SECRET, 'db-password', 'smtp-password', 'natspw', 'from-dot-env']) expect(line).not.toContain(secret);
  });
});

describe('links follow USERS_PUBLIC_URL unless set', () => {
  it('the verification link and the OAuth callbacks', () => {
    useEnv({ USERS_PUBLIC_URL: 'https://users.example.com/', GITHUB_CLIENT_ID: 'id', GITHUB_CLIENT_SECRET: 'secret' });
    expect(mailConfig().kinds.verification.urlPrefix).toBe('https://users.example.com/verify-email');
    expect(oauthConfig().github?.callbackUrl).toBe('https://users.example.com/oauth/callback/github');
    useEnv({ USERS_PUBLIC_URL: 'https://users.example.com', VERIFICATION_URL_PREFIX: 'https://app.example.com/verify' });
    expect(mailConfig().kinds.verification.urlPrefix).toBe('https://app.example.com/verify');
  });
});

describe('stream limits', () => {
  it('default to 30 days and 1 GiB, and take USERS_ES_MAX_AGE / USERS_ES_MAX_BYTES', () => {
    expect(eventsConfig()).toMatchObject({ maxAgeMs: 720 * 3_600_000, maxBytes: 1024 ** 3 });
    useEnv({ USERS_ES_MAX_AGE: '168h', USERS_ES_MAX_BYTES: '0' });
    expect(eventsConfig()).toMatchObject({ maxAgeMs: 168 * 3_600_000, maxBytes: 0 });
  });
});
