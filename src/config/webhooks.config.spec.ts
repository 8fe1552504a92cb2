import { webhooksConfig } from './webhooks.config';
import { namespaceUnderEnv } from '../../test/support/config-namespace';

const { configWith, problemsWith } = namespaceUnderEnv(webhooksConfig);
const SECRET = 'a-webhook-secret-long-enough';

describe("webhooksConfig (GoTrue's WEBHOOK_*)", () => {
  it('sends nothing without a URL, whatever WEBHOOK_EVENTS says', () => {
    expect(configWith({})).toEqual({ url: undefined, secret: '', retries: 3, timeoutMs: 5000, events: new Set() });
    expect(configWith({ WEBHOOK_URL: '', WEBHOOK_EVENTS: 'login' }).events).toEqual(new Set());
  });

  it('reads every setting, also with the GOTRUE_ prefix (which wins)', () => {
    expect(
      configWith({ WEBHOOK_URL: 'http://ignored.example.com', GOTRUE_WEBHOOK_URL: 'https://hooks.example.com/gotrue', GOTRUE_WEBHOOK_SECRET: SECRET, WEBHOOK_RETRIES: '5', WEBHOOK_TIMEOUT_SEC: '2', WEBHOOK_EVENTS: ' signup , login' }),
    ).toEqual({ url: 'https://hooks.example.com/gotrue', secret: SECRET, retries: 5, timeoutMs: 2000, events: new Set(['signup', 'login']) });
  });

  it.each([
    [{ WEBHOOK_URL: 'hooks.example.com' }, 'WEBHOOK_URL must be an http(s) URL'],
    [{ WEBHOOK_URL: 'ftp://hooks.example.com' }, 'WEBHOOK_URL must be an http(s) URL'],
    [{ WEBHOOK_URL: 'https://hooks.example.com' }, 'WEBHOOK_SECRET is required'],
    [{ WEBHOOK_URL: 'https://user:pass@hooks.example.com', WEBHOOK_SECRET: SECRET }, 'WEBHOOK_URL must not carry a user or password'],
    [{ WEBHOOK_URL: 'https://hooks.example.com', WEBHOOK_SECRET: 'short' }, 'WEBHOOK_SECRET must be at least 16 characters long'],
    [{ WEBHOOK_RETRIES: 'three' }, 'WEBHOOK_RETRIES must be a whole number from 1 to 100 (got "three")'],
    [{ WEBHOOK_RETRIES: '0' }, 'WEBHOOK_RETRIES must be a whole number from 1 to 100 (got "0")'],
    [{ WEBHOOK_TIMEOUT_SEC: '1.5' }, 'WEBHOOK_TIMEOUT_SEC must be a whole number from 1 to 120 (got "1.5")'],
    [{ WEBHOOK_EVENTS: 'signup,logout' }, 'WEBHOOK_EVENTS must be a comma-separated list of validate, signup and login'],
  ])('refuses %j', (env, problem) => {
    expect(problemsWith(env as Record<string, string>).join('\n')).toContain(problem);
  });
});
