import { createSecretKey } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { AuthConfig } from '../config/auth.config';
import { UsersRepository } from '../users/users.repository';
import { AccessTokenVerifier } from './access-token-verifier.service';
import { SigningKeys } from './signing-keys';

const auth = { issuer: 'users', audience: 'clients' } as AuthConfig;
const refusal = (promise: Promise<unknown>) => promise.then(() => 'accepted', (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`);

async function verifierWithCountedChecks() {
  const keys = await SigningKeys.of(new JwtService(), { signing: { alg: 'HS256', key: createSecretKey(Buffer.from('the-current-secret-key-0123456789abcdef')) }, previous: [] });
  const check = jest.spyOn(keys, 'verify');
  return { keys, check, verifier: new AccessTokenVerifier({} as UsersRepository, keys, auth) };
}

describe('AccessTokenVerifier.checkSignature', () => {
  it('answers a refused token again with the same refusal, without checking it again', async () => {
    const { keys, check, verifier } = await verifierWithCountedChecks();
    const now = Math.floor(Date.now() / 1000);
    const expired = await keys.sign({ iss: auth.issuer, aud: auth.audience, type: 'access', exp: now - 10, iat: now - 100 });
    const forged = `${expired.slice(0, expired.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    const notAccess = await keys.sign({ iss: auth.issuer, aud: auth.audience, type: 'refresh', exp: now + 60, iat: now });
    for (const token of [expired, forged, notAccess, '']) {
      const first = await refusal(verifier.checkSignature(token));
      expect(first).not.toBe('accepted');
      expect(await refusal(verifier.checkSignature(token))).toBe(first);
    }
    expect(await refusal(verifier.checkSignature(expired))).toMatch(/^TOKEN_EXPIRED: /);
    expect(check).toHaveBeenCalledTimes(4);
  });
});
