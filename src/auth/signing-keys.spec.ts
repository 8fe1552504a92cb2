import { createSecretKey } from 'node:crypto';
import { sign, verify } from 'jsonwebtoken';
import { verificationKey } from './signing-keys';

const key = (secret: string) => createSecretKey(Buffer.from(secret));
const CURRENT = key('the-current-secret-key-0123456789abcdef');
const PREVIOUS = key('the-previous-secret-key-0123456789abcdef');
const OTHER = key('a-key-nobody-configured-0123456789abcdef');

describe('verificationKey (USERS_SECRET_KEY_PREVIOUS)', () => {
  const tokenOf = (signingKey: ReturnType<typeof key>) => sign({ sub: 'u' }, signingKey, { algorithm: 'HS256' });

  it('without a previous key: always the current key', () => {
    expect(verificationKey(tokenOf(PREVIOUS), { jwtKey: CURRENT, previousJwtKey: undefined })).toBe(CURRENT);
  });

  it('during a rotation: the key that signed the token, so that both verify', () => {
    const auth = { jwtKey: CURRENT, previousJwtKey: PREVIOUS };
    for (const signer of [CURRENT, PREVIOUS]) {
      const token = tokenOf(signer);
      expect(verificationKey(token, auth)).toBe(signer);
      expect(verify(token, verificationKey(token, auth), { algorithms: ['HS256'] })).toMatchObject({ sub: 'u' });
    }
  });

  it('a token neither key signed (or garbage) gets the current key, and fails verification', () => {
    const auth = { jwtKey: CURRENT, previousJwtKey: PREVIOUS };
    const forged = tokenOf(OTHER);
    expect(verificationKey(forged, auth)).toBe(CURRENT);
    expect(() => verify(forged, verificationKey(forged, auth), { algorithms: ['HS256'] })).toThrow('invalid signature');
    expect(verificationKey('not-a-token', auth)).toBe(CURRENT);
    expect(verificationKey('', auth)).toBe(CURRENT);
  });
});
