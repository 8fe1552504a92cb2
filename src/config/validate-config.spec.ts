import { availableParallelism } from 'node:os';
import { adminConfig } from './admin.config';
import { appConfig } from './app.config';
import { authConfig } from './auth.config';
import { databaseConfig } from './database.config';
import { mailConfig } from './mail.config';
import { rateLimitConfig } from './rate-limit.config';
import { schedulerConfig } from './scheduler.config';
import { validateConfig } from './validate-config';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET = 'unit-test-secret-key-that-is-long-enough-0123';

type Factory = () => unknown;
const NAMESPACES: Record<string, Factory> = { app: appConfig, database: databaseConfig, auth: authConfig, admin: adminConfig, mail: mailConfig, scheduler: schedulerConfig, rateLimit: rateLimitConfig };

/** The registerAs factories read process.env: each test sets exactly the environment it means. */
const originalEnv = process.env;
function useEnv(env: Record<string, string>) {
  process.env = { ...env };
}
beforeEach(() => useEnv({}));
afterEach(() => {
  process.env = originalEnv;
});

/** Runs a factory expecting a configuration error, and returns its message. */
function configError(factory: Factory): string {
  let thrown: unknown;
  try {
    factory();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(Error);
  const { message } = thrown as Error;
  // main.ts prints such messages plainly (no stack trace) because of this prefix.
  expect(message).toMatch(/^Invalid configuration/);
  return message;
}

describe('config namespaces: defaults with an empty environment', () => {
  it('app', () => {
    expect(appConfig()).toEqual({
      logLevel: 'info',
      host: 'localhost',
      port: 9002,
      bodyLimitBytes: 100 * 1024,
      trustedProxies: [],
      tls: undefined,
      instanceId: expect.stringMatching(UUID),
      commit: 'ffffffff',
      buildTime: '1970-01-01_00:00:00',
      publicUrl: 'http://localhost:9002',
      shutdown: { delayMs: 5000, timeoutMs: 20_000 },
    });
  });

  it('app takes a shutdown delay of 0s (nothing to wait for), but not a timeout of 0s', () => {
    useEnv({ USERS_SHUTDOWN_DELAY: '0s', USERS_SHUTDOWN_TIMEOUT: '1m30s' });
    expect(appConfig().shutdown).toEqual({ delayMs: 0, timeoutMs: 90_000 });
  });

  it('app makes a new instance id each time it is built without USERS_INSTANCE_ID', () => {
    expect(appConfig().instanceId).not.toBe(appConfig().instanceId);
  });

  it('database', () => {
    expect(databaseConfig()).toEqual({
      driver: 'postgres',
      pgliteDir: './data/pglite',
      host: 'localhost',
      port: 5432,
      user: 'postgres',
      password: '',
      name: 'users',
      sslMode: 'disable',
      sslCertFile: undefined,
      sslKeyFile: undefined,
      sslRootCertFile: undefined,
      poolSize: 20,
      migrateOnBoot: true,
      connectAttempts: 10,
      connectRetryDelayMs: 3000,
      exactTotalLimit: 1_000,
    });
  });

  it('auth (USERS_SECRET_KEY has no default)', () => {
    useEnv({ USERS_SECRET_KEY: SECRET });
    const auth = authConfig();
    expect(auth).toEqual({
      secretKey: SECRET,
      previousSecretKey: undefined,
      jwtKeys: { signing: { alg: 'HS256', key: expect.objectContaining({ type: 'secret', symmetricKeySize: SECRET.length }) }, previous: [] },
      issuer: 'users',
      audience: 'users',
      accessTokenTtlMs: 15 * 60_000,
      refreshTokenTtlMs: 24 * 3_600_000,
      passwordPattern: expect.any(RegExp),
      argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
      hashing: { concurrency: Math.max(1, availableParallelism() - 1), queueSize: 32 * availableParallelism() },
      allowSelfRegister: true,
      allowUnverifiedUser: false,
      reauthWindowMs: 10 * 60_000,
    });
    expect(auth.passwordPattern.source).toBe('^.{8,}$');
    expect(auth.passwordPattern.test('1234567')).toBe(false);
    expect(auth.passwordPattern.test('12345678')).toBe(true);
  });

  it('rate limits: on, Supabase-like per-IP limits, 10 failed logins per account in 15 minutes, counted in memory', () => {
    expect(rateLimitConfig()).toEqual({
      enabled: true,
      limits: {
        token: { count: 30, windowMs: 300_000 },
        refresh: { count: 150, windowMs: 300_000 },
        signup: { count: 30, windowMs: 300_000 },
        email: { count: 30, windowMs: 300_000 },
        'email-account': { count: 10, windowMs: 3_600_000 },
      },
      loginLockout: { count: 10, windowMs: 900_000 },
      redisUrl: undefined,
      redisKeyPrefix: 'users:',
    });
  });

  it('admin', () => {
    expect(adminConfig()).toEqual({ email: 'admin@example.com', password: '12345678' });
  });

  it('mail: SMTP on localhost:25, the bundled templates, SuperMQ\'s URL prefixes and lifetimes', () => {
    const mail = mailConfig();
    expect(mail.smtp).toEqual({ host: 'localhost', port: 25, username: '', password: '', requireTls: false });
    expect(mail.from).toEqual({ name: '', address: 'no-reply@localhost' });
    expect(mail.minIntervalMs).toBe(60_000);
    expect(mail.verificationRedirectUrl).toBeUndefined();
    expect(mail.kinds.verification).toEqual({ subject: 'Verify your e-mail address', template: expect.stringMatching(/\/templates\/verification-email\.hbs$/), urlPrefix: 'http://localhost:9002/verify-email', ttlMs: 24 * 3_600_000 });
    expect(mail.kinds.password_reset).toMatchObject({ urlPrefix: 'http://localhost/password/reset', ttlMs: 15 * 60_000, template: expect.stringMatching(/reset-password-email\.hbs$/) });
    expect(mail.kinds.invite).toMatchObject({ urlPrefix: 'http://localhost/password/reset', ttlMs: 72 * 3_600_000, template: expect.stringMatching(/invite-email\.hbs$/) });
  });

  it('mail: EMAIL_HOST set but empty means "log mails instead of sending them"', () => {
    useEnv({ EMAIL_HOST: '' });
    expect(mailConfig().smtp).toBeUndefined();
    useEnv({ EMAIL_HOST: 'smtp.example.com', EMAIL_PORT: '587', INVITE_URL_PREFIX: 'https://app.example.com/invite' });
    expect(mailConfig().smtp).toEqual(expect.objectContaining({ host: 'smtp.example.com', port: 587 }));
    expect(mailConfig().kinds.invite.urlPrefix).toBe('https://app.example.com/invite');
  });

  it('mail: EMAIL_REQUIRE_TLS is on by default when an SMTP password is set, and may be set either way (#8 finding 9)', () => {
    useEnv({ EMAIL_HOST: 'smtp.example.com', EMAIL_USERNAME: 'mailer', EMAIL_PASSWORD: 'smtp-password' });
    expect(mailConfig().smtp?.requireTls).toBe(true);
    useEnv({ EMAIL_HOST: 'smtp.example.com', EMAIL_USERNAME: 'mailer', EMAIL_PASSWORD: 'smtp-password', EMAIL_REQUIRE_TLS: 'false' });
    expect(mailConfig().smtp?.requireTls).toBe(false);
    useEnv({ EMAIL_HOST: 'smtp.example.com', EMAIL_REQUIRE_TLS: 'TRUE' });
    expect(mailConfig().smtp?.requireTls).toBe(true);
    useEnv({ EMAIL_HOST: 'smtp.example.com', EMAIL_REQUIRE_TLS: 'sometimes' });
    expect(configError(mailConfig)).toContain('EMAIL_REQUIRE_TLS must be true or false');
  });

  it('treats empty variables as unset (defaults apply)', () => {
    useEnv({ USERS_HTTP_PORT: '', USERS_LOG_LEVEL: '', USERS_DB_DRIVER: '', USERS_DB_PORT: '', USERS_SECRET_KEY: SECRET, USERS_ACCESS_TOKEN_DURATION: '', USERS_ALLOW_SELF_REGISTER: '' });
    expect(appConfig()).toEqual(expect.objectContaining({ port: 9002, logLevel: 'info' }));
    expect(databaseConfig()).toEqual(expect.objectContaining({ driver: 'postgres', port: 5432 }));
    expect(authConfig()).toEqual(expect.objectContaining({ accessTokenTtlMs: 15 * 60_000, allowSelfRegister: true }));
  });
});

describe('config namespaces: values from the environment', () => {
  it('app', () => {
    useEnv({
      USERS_LOG_LEVEL: 'debug',
      USERS_HTTP_HOST: '0.0.0.0',
      USERS_HTTP_PORT: '8080',
      USERS_HTTP_SERVER_CERT: __filename,
      USERS_HTTP_SERVER_KEY: __filename,
      USERS_INSTANCE_ID: 'replica-1',
      USERS_HTTP_BODY_LIMIT: '1mb',
    });
    expect(appConfig()).toEqual(
      expect.objectContaining({ logLevel: 'debug', host: '0.0.0.0', port: 8080, bodyLimitBytes: 1024 * 1024, tls: { certFile: __filename, keyFile: __filename }, instanceId: 'replica-1' }),
    );
    useEnv({ USERS_HTTP_BODY_LIMIT: '65536' });
    expect(appConfig().bodyLimitBytes).toBe(65536);
  });

  it('app: trusted proxies, addresses and ranges', () => {
    useEnv({ USERS_TRUSTED_PROXIES: ' 10.0.0.0/8, 192.168.1.7 ,::1, fd00::/8,' });
    expect(appConfig().trustedProxies).toEqual(['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8']);
  });

  it('rate limits', () => {
    useEnv({ USERS_RATE_LIMIT_ENABLED: 'false', USERS_RATE_LIMIT_TOKEN: '5/1m', USERS_LOGIN_LOCKOUT: '3/1h', USERS_REDIS_URL: 'redis://redis:6379/2', USERS_REDIS_KEY_PREFIX: 'a:' });
    expect(rateLimitConfig()).toEqual(
      expect.objectContaining({ enabled: false, loginLockout: { count: 3, windowMs: 3_600_000 }, redisUrl: 'redis://redis:6379/2', redisKeyPrefix: 'a:' }),
    );
    expect(rateLimitConfig().limits.token).toEqual({ count: 5, windowMs: 60_000 });
  });

  it('auth: the hashing queue', () => {
    useEnv({ USERS_SECRET_KEY: SECRET, USERS_ARGON2_CONCURRENCY: '3', USERS_ARGON2_QUEUE_SIZE: '0' });
    expect(authConfig().hashing).toEqual({ concurrency: 3, queueSize: 0 });
  });

  it('database', () => {
    useEnv({ USERS_DB_DRIVER: 'pglite', USERS_DB_PGLITE_DIR: 'memory://', USERS_DB_PORT: '6543', USERS_DB_PASS: 'pw', USERS_DB_SSL_MODE: 'verify-full', USERS_DB_POOL_SIZE: '7' });
    expect(databaseConfig()).toEqual(expect.objectContaining({ driver: 'pglite', pgliteDir: 'memory://', port: 6543, password: 'pw', sslMode: 'verify-full', poolSize: 7 }));
  });

  it('auth', () => {
    useEnv({ USERS_SECRET_KEY: SECRET, USERS_ACCESS_TOKEN_DURATION: '1h30m', USERS_REFRESH_TOKEN_DURATION: '720h', USERS_PASS_REGEX: '^\\d{4,}$' });
    const auth = authConfig();
    expect(auth.accessTokenTtlMs).toBe(90 * 60_000);
    expect(auth.refreshTokenTtlMs).toBe(720 * 3_600_000);
    expect(auth.passwordPattern.test('1234')).toBe(true);
    expect(auth.passwordPattern.test('abcd')).toBe(false);
  });

  it('admin: the e-mail address is normalised to lower case', () => {
    useEnv({ USERS_ADMIN_EMAIL: 'Root@Example.COM', USERS_ADMIN_PASSWORD: 'a-strong-one' });
    expect(adminConfig()).toEqual({ email: 'root@example.com', password: 'a-strong-one' });
  });

  it.each([
    ['true', true],
    ['false', false],
    ['1', true],
    ['0', false],
    ['TRUE', true],
    ['False', false],
  ])('reads the booleans from %j', (value, expected) => {
    useEnv({ USERS_SECRET_KEY: SECRET, USERS_ALLOW_SELF_REGISTER: value, USERS_ALLOW_UNVERIFIED_USER: value });
    expect(authConfig()).toEqual(expect.objectContaining({ allowSelfRegister: expected, allowUnverifiedUser: expected }));
  });
});

describe('config namespaces: a bad value stops the boot naming the variable', () => {
  it.each<[string, string, Record<string, string>]>([
    ['app', 'USERS_HTTP_PORT', { USERS_HTTP_PORT: 'abc' }],
    ['app', 'USERS_HTTP_PORT', { USERS_HTTP_PORT: '70000' }],
    ['app', 'USERS_HTTP_PORT', { USERS_HTTP_PORT: '80.5' }],
    ['app', 'USERS_LOG_LEVEL', { USERS_LOG_LEVEL: 'verbose' }],
    ['app', 'USERS_HTTP_BODY_LIMIT', { USERS_HTTP_BODY_LIMIT: 'large' }],
    ['app', 'USERS_HTTP_BODY_LIMIT', { USERS_HTTP_BODY_LIMIT: '100' }],
    ['app', 'USERS_HTTP_BODY_LIMIT', { USERS_HTTP_BODY_LIMIT: '1gb' }],
    ['app', 'USERS_SHUTDOWN_DELAY', { USERS_SHUTDOWN_DELAY: 'a while' }],
    ['app', 'USERS_SHUTDOWN_TIMEOUT', { USERS_SHUTDOWN_TIMEOUT: '0s' }],
    ['database', 'USERS_DB_DRIVER', { USERS_DB_DRIVER: 'mysql' }],
    ['database', 'USERS_DB_PORT', { USERS_DB_PORT: 'five' }],
    ['database', 'USERS_DB_SSL_MODE', { USERS_DB_SSL_MODE: 'sometimes' }],
    ['database', 'USERS_DB_POOL_SIZE', { USERS_DB_POOL_SIZE: '0' }],
    ['auth', 'USERS_ACCESS_TOKEN_DURATION', { USERS_SECRET_KEY: SECRET, USERS_ACCESS_TOKEN_DURATION: 'soon' }],
    ['auth', 'USERS_ACCESS_TOKEN_DURATION', { USERS_SECRET_KEY: SECRET, USERS_ACCESS_TOKEN_DURATION: '0s' }],
    ['auth', 'USERS_REFRESH_TOKEN_DURATION', { USERS_SECRET_KEY: SECRET, USERS_REFRESH_TOKEN_DURATION: '1d' }],
    ['auth', 'USERS_PASS_REGEX', { USERS_SECRET_KEY: SECRET, USERS_PASS_REGEX: '(' }],
    ['auth', 'USERS_SECRET_KEY', {}],
    ['auth', 'USERS_SECRET_KEY', { USERS_SECRET_KEY: 'too-short' }],
    ['auth', 'USERS_SECRET_KEY', { USERS_SECRET_KEY: 'x'.repeat(31) }],
    ['auth', 'USERS_ALLOW_SELF_REGISTER', { USERS_SECRET_KEY: SECRET, USERS_ALLOW_SELF_REGISTER: 'maybe' }],
    ['auth', 'USERS_ALLOW_UNVERIFIED_USER', { USERS_SECRET_KEY: SECRET, USERS_ALLOW_UNVERIFIED_USER: 'perhaps' }],
    ['admin', 'USERS_ADMIN_EMAIL', { USERS_ADMIN_EMAIL: 'not-an-email' }],
    ['admin', 'USERS_ADMIN_PASSWORD', { USERS_ADMIN_PASSWORD: 'p'.repeat(1025) }],
    ['mail', 'EMAIL_PORT', { EMAIL_PORT: 'smtp' }],
    ['mail', 'EMAIL_FROM_ADDRESS', { EMAIL_FROM_ADDRESS: 'nobody' }],
    ['mail', 'EMAIL_MIN_INTERVAL', { EMAIL_MIN_INTERVAL: 'a minute' }],
    ['mail', 'VERIFICATION_URL_PREFIX', { VERIFICATION_URL_PREFIX: 'not a url' }],
    ['mail', 'VERIFICATION_REDIRECT_URL', { VERIFICATION_REDIRECT_URL: 'ftp://example.com' }],
    ['mail', 'USERS_RESET_TOKEN_DURATION', { USERS_RESET_TOKEN_DURATION: '15' }],
    ['mail', 'PASSWORD_RESET_EMAIL_TEMPLATE', { PASSWORD_RESET_EMAIL_TEMPLATE: 'templates/missing.hbs' }],
    ['app', 'USERS_TRUSTED_PROXIES', { USERS_TRUSTED_PROXIES: 'proxy.internal' }],
    ['app', 'USERS_TRUSTED_PROXIES', { USERS_TRUSTED_PROXIES: '10.0.0.0/33' }],
    ['app', 'USERS_TRUSTED_PROXIES', { USERS_TRUSTED_PROXIES: '10.0.0.1, *' }],
    ['auth', 'USERS_ARGON2_CONCURRENCY', { USERS_SECRET_KEY: SECRET, USERS_ARGON2_CONCURRENCY: '0' }],
    ['auth', 'USERS_ARGON2_QUEUE_SIZE', { USERS_SECRET_KEY: SECRET, USERS_ARGON2_QUEUE_SIZE: 'lots' }],
    ['rateLimit', 'USERS_RATE_LIMIT_ENABLED', { USERS_RATE_LIMIT_ENABLED: 'sometimes' }],
    ['rateLimit', 'USERS_RATE_LIMIT_TOKEN', { USERS_RATE_LIMIT_TOKEN: '30' }],
    ['rateLimit', 'USERS_RATE_LIMIT_REFRESH', { USERS_RATE_LIMIT_REFRESH: '0/5m' }],
    ['rateLimit', 'USERS_RATE_LIMIT_SIGNUP', { USERS_RATE_LIMIT_SIGNUP: '30 per 5m' }],
    ['rateLimit', 'USERS_RATE_LIMIT_EMAIL', { USERS_RATE_LIMIT_EMAIL: '30/5d' }],
    ['rateLimit', 'USERS_RATE_LIMIT_EMAIL_ACCOUNT', { USERS_RATE_LIMIT_EMAIL_ACCOUNT: '10/500ms' }],
    ['rateLimit', 'USERS_LOGIN_LOCKOUT', { USERS_LOGIN_LOCKOUT: 'ten/15m' }],
    ['rateLimit', 'USERS_REDIS_URL', { USERS_REDIS_URL: 'localhost:6379' }],
  ])('%s: %s (%j)', (namespace, variable, env) => {
    useEnv(env);
    expect(configError(NAMESPACES[namespace])).toContain(variable);
  });

  it.each([
    ['only the certificate', { USERS_HTTP_SERVER_CERT: __filename }],
    ['only the key', { USERS_HTTP_SERVER_KEY: __filename }],
  ])('app: TLS with %s names both variables', (_name, env) => {
    useEnv(env);
    const message = configError(appConfig);
    expect(message).toContain('USERS_HTTP_SERVER_CERT');
    expect(message).toContain('USERS_HTTP_SERVER_KEY');
  });

  it.each<[string, string, Record<string, string>]>([
    ['auth', 'USERS_ACCESS_TOKEN_DURATION', { USERS_SECRET_KEY: SECRET, USERS_ACCESS_TOKEN_DURATION: '0' }],
    ['auth', 'USERS_REFRESH_TOKEN_DURATION', { USERS_SECRET_KEY: SECRET, USERS_REFRESH_TOKEN_DURATION: '0s' }],
    ['mail', 'EMAIL_RETRY_DELAY', { EMAIL_RETRY_DELAY: '0ms' }],
    ['mail', 'USERS_VERIFICATION_TOKEN_DURATION', { USERS_VERIFICATION_TOKEN_DURATION: '0h' }],
    ['mail', 'USERS_RESET_TOKEN_DURATION', { USERS_RESET_TOKEN_DURATION: '0s' }],
    ['mail', 'USERS_INVITE_TOKEN_DURATION', { USERS_INVITE_TOKEN_DURATION: '0m' }],
    ['scheduler', 'USERS_DELETE_INTERVAL', { USERS_DELETE_INTERVAL: '0s' }],
    ['scheduler', 'USERS_CLEANUP_INTERVAL', { USERS_CLEANUP_INTERVAL: '0' }],
  ])('%s: a zero %s makes no sense and is refused as such (%j)', (namespace, variable, env) => {
    useEnv(env);
    expect(configError(NAMESPACES[namespace])).toContain(`${variable} must be more than zero (got "${Object.values(env).at(-1)}")`);
  });

  it('a zero turns off what it means to: the mail throttle, the wait between connection attempts, the grace before purge, the outbox retention', () => {
    useEnv({ EMAIL_MIN_INTERVAL: '0s', USERS_DB_CONNECT_RETRY_DELAY: '0', USERS_DELETE_AFTER: '0h', USERS_OUTBOX_RETENTION: '0ms' });
    expect(mailConfig().minIntervalMs).toBe(0);
    expect(databaseConfig().connectRetryDelayMs).toBe(0);
    expect(schedulerConfig()).toEqual(expect.objectContaining({ deleteAfterMs: 0, outboxRetentionMs: 0 }));
  });

  it('names every bad variable of a namespace at once', () => {
    useEnv({ USERS_HTTP_PORT: 'abc', USERS_LOG_LEVEL: 'loud' });
    const message = configError(appConfig);
    expect(message).toContain('USERS_HTTP_PORT');
    expect(message).toContain('USERS_LOG_LEVEL');
  });

  it('a 32-character secret key is enough', () => {
    useEnv({ USERS_SECRET_KEY: 'x'.repeat(32) });
    expect(authConfig().secretKey).toBe('x'.repeat(32));
  });

  it('never repeats a secret value in the message', () => {
    const secret = 'short-secret-value';
    useEnv({ USERS_SECRET_KEY: secret });
    expect(configError(authConfig)).not.toContain(secret);
    const password = `pw-${'q'.repeat(1030)}`;
    useEnv({ USERS_ADMIN_PASSWORD: password });
    expect(configError(adminConfig)).not.toContain(password.slice(0, 20));
  });
});

describe('validateConfig', () => {
  it('does not modify the environment it reads', () => {
    class Env {
      USERS_X = 'default';
    }
    const env = { USERS_X: '', OTHER: 'kept' };
    expect(validateConfig(env, Env).USERS_X).toBe('default');
    expect(env).toEqual({ USERS_X: '', OTHER: 'kept' });
  });
});
