import { createPublicKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { SignJWT, UnsecuredJWT, decodeProtectedHeader, jwtVerify } from 'jose';
import { JwtKey } from '../config/auth.config';
import { SigningKeys } from './signing-keys';

const hs256 = (secret: string): JwtKey => ({ alg: 'HS256', key: createSecretKey(Buffer.from(secret)) });
const ed25519 = (): JwtKey => ({ alg: 'EdDSA', key: generateKeyPairSync('ed25519').privateKey });
const p256 = (): JwtKey => ({ alg: 'ES256', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey });
const publicOf = ({ alg, key }: JwtKey): JwtKey => ({ alg, key: createPublicKey(key) });

const expected = { issuer: 'users', audience: 'clients' };
const keysOf = (signing: JwtKey, previous: JwtKey[] = []) => SigningKeys.of(new JwtService(), { signing, previous });
const signed = (keys: SigningKeys, claims: Record<string, unknown> = {}) =>
  keys.sign({ iss: expected.issuer, aud: expected.audience, exp: Math.floor(Date.now() / 1000) + 60, ...claims });
const refusal = (promise: Promise<unknown>) => promise.then(() => 'accepted', (error: { code?: string }) => error.code);

describe('SigningKeys', () => {
  it.each([
    ['HS256', hs256('the-current-secret-key-0123456789abcdef')],
    ['EdDSA', ed25519()],
    ['ES256', p256()],
  ])('%s: signs with the key, names it by its RFC 7638 thumbprint, and verifies its own tokens', async (alg, signing) => {
    const keys = await keysOf(signing);
    const token = await signed(keys, { sub: 'u' });
    expect(decodeProtectedHeader(token)).toEqual({ alg, kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), typ: 'JWT' });
    expect(await keys.verify(token, expected)).toMatchObject({ sub: 'u' });
  });

  it.each([
    ['HS256', hs256('the-current-secret-key-0123456789abcdef')],
    ['EdDSA', ed25519()],
    ['ES256', p256()],
  ])('%s: its tokens verify with another JWT library too (jose), claims as given', async (alg, signing) => {
    const claims = { iss: expected.issuer, aud: expected.audience, sub: 'u', iat: 1_700_000_000, exp: Math.floor(Date.now() / 1000) + 60, amr: [{ method: 'password', timestamp: 1 }], name: 'Zoë' };
    const token = await (await keysOf(signing)).sign(claims);
    const verifying = signing.key.type === 'private' ? createPublicKey(signing.key) : signing.key;
    const { payload, protectedHeader } = await jwtVerify(token, verifying, { algorithms: [alg], ...expected });
    expect(payload).toEqual(claims);
    expect(protectedHeader).toEqual({ alg, typ: 'JWT', kid: expect.any(String) });
  });

  it('publishes the public keys (never a private or secret part), the signing key first; none for HS256', async () => {
    const [current, previous] = [ed25519(), p256()];
    const keys = await keysOf(current, [publicOf(previous)]);
    expect(keys.jwks.keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: decodeProtectedHeader(await keys.sign({})).kid, alg: 'EdDSA', use: 'sig' },
      { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: expect.any(String), alg: 'ES256', use: 'sig' },
    ]);
    expect((await keysOf(hs256('the-current-secret-key-0123456789abcdef'))).jwks).toEqual({ keys: [] });
  });

  it('rotation: the new key signs, tokens of the previous one (given by its public key) still verify', async () => {
    const [old, current] = [ed25519(), p256()];
    const before = await signed(await keysOf(old), { sub: 'old' });
    const keys = await keysOf(current, [publicOf(old)]);
    expect(decodeProtectedHeader(await keys.sign({})).alg).toBe('ES256');
    expect(await keys.verify(before, expected)).toMatchObject({ sub: 'old' });
    // The same key given as its private PEM (only its public half is kept): the same kid.
    expect(await (await keysOf(current, [old])).verify(before, expected)).toMatchObject({ sub: 'old' });
  });

  it('refuses tokens that name no key of ours, another algorithm than their key, none, or another issuer or audience; expired ones as expired', async () => {
    const [signing, secret] = [p256(), hs256('the-current-secret-key-0123456789abcdef')];
    const keys = await keysOf(signing, [secret]);
    const { kid } = decodeProtectedHeader(await keys.sign({}));
    const publicPem = createPublicKey(signing.key).export({ type: 'spki', format: 'pem' });
    const claims = { iss: expected.issuer, aud: expected.audience };
    const forged = (header: Record<string, unknown>, key: Parameters<SignJWT['sign']>[0]) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256', ...header }).setExpirationTime('1m').sign(key);

    expect(await refusal(keys.verify(await forged({ kid }, Buffer.from(publicPem)), expected))).toBe('TOKEN_INVALID'); // HS256 with our public key as its secret
    expect(await refusal(keys.verify(await forged({ kid: 'someone-elses' }, secret.key), expected))).toBe('TOKEN_INVALID');
    expect(await refusal(keys.verify(await forged({}, secret.key), expected))).toBe('TOKEN_INVALID'); // no kid
    expect(await refusal(keys.verify(new UnsecuredJWT(claims).setExpirationTime('1m').encode(), expected))).toBe('TOKEN_INVALID');
    expect(await refusal(keys.verify(await signed(keys, { iss: 'another' }), expected))).toBe('TOKEN_INVALID');
    expect(await refusal(keys.verify(await signed(keys, { aud: 'another' }), expected))).toBe('TOKEN_INVALID');
    expect(await refusal(keys.verify('not.a.jwt', expected))).toBe('TOKEN_INVALID');
    expect(await refusal(keys.verify(await signed(keys, { exp: Math.floor(Date.now() / 1000) - 5 }), expected))).toBe('TOKEN_EXPIRED');
    expect(await refusal(keys.verify(await signed(keys), expected))).toBe('accepted');
  });
});
