import { mfaConfig } from './mfa.config';
import { namespaceUnderEnv } from '../../test/support/config-namespace';

const { configWith, problemsWith } = namespaceUnderEnv(mfaConfig);

describe('mfaConfig: passkeys (USERS_WEBAUTHN_*)', () => {
  it('defaults the RP id and the origin to USERS_PUBLIC_URL', () => {
    expect(configWith({ USERS_PUBLIC_URL: 'https://id.example.com:8443/base' }).webauthn).toEqual({ rpId: 'id.example.com', rpName: 'Users', origins: ['https://id.example.com:8443'] });
  });

  it('reads the RP id, its name and the origins (normalized)', () => {
    expect(configWith({ USERS_WEBAUTHN_RP_ID: 'example.com', USERS_WEBAUTHN_RP_NAME: 'Example', USERS_WEBAUTHN_ORIGINS: 'https://app.example.com/, https://example.com' }).webauthn).toEqual({
      rpId: 'example.com',
      rpName: 'Example',
      origins: ['https://app.example.com', 'https://example.com'],
    });
  });

  it.each([
    [{ USERS_WEBAUTHN_RP_ID: 'https://example.com' }, 'USERS_WEBAUTHN_RP_ID must be a lowercase domain name'],
    [{ USERS_WEBAUTHN_RP_ID: 'example.com:443' }, 'USERS_WEBAUTHN_RP_ID must be a lowercase domain name'],
    [{ USERS_WEBAUTHN_ORIGINS: 'app.example.com' }, 'USERS_WEBAUTHN_ORIGINS must be comma-separated origins'],
    [{ USERS_WEBAUTHN_RP_ID: 'example.com', USERS_WEBAUTHN_ORIGINS: 'https://app.example.com,https://evil.test' }, 'https://evil.test not on USERS_WEBAUTHN_RP_ID example.com'],
    [{ USERS_WEBAUTHN_RP_ID: 'example.com', USERS_WEBAUTHN_ORIGINS: 'https://notexample.com' }, 'https://notexample.com not on USERS_WEBAUTHN_RP_ID example.com'],
    [{ USERS_WEBAUTHN_RP_NAME: 'x'.repeat(65) }, 'USERS_WEBAUTHN_RP_NAME'],
  ])('refuses %j', (env, problem) => {
    expect(problemsWith(env as Record<string, string>).join('\n')).toContain(problem);
  });
});
