import { KeyObject, createPublicKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { JwtKey } from '../config/auth.config';
import { SigningKeys } from './signing-keys';

const hs256 = (secret: string): JwtKey => ({ alg: 'HS256', key: createSecretKey(Buffer.from(secret)) });
const ed25519 = (): JwtKey => ({ alg: 'EdDSA', key: generateKeyPairSync('ed25519').privateKey });
const p256 = (): JwtKey => ({ alg: 'ES256', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey });
const publicOf = ({ alg, key }: JwtKey): JwtKey => ({ alg, key: createPublicKey(key) });

/** Verifies as AccessTokenVerifier does: the key the header names, the algorithms of the ring. */
const verify = (keys: SigningKeys, token: string) => jwtVerify(token, (header) => keys.verificationKey(header), { algorithms: keys.algorithms });

describe('SigningKeys', () => {
  it.each([
    ['HS256', hs256('the-current-secret-key-0123456789abcdef')],
    ['EdDSA', ed25519()],
    ['ES256', p256()],
  ])('%s: signs with the key, names it by its RFC 7638 thumbprint, and verifies its own tokens', async (alg, signing) => {
    const keys = await SigningKeys.of({ signing, previous: [] });
    const token = await keys.sign({ sub: 'u' });
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg, kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), typ: 'JWT' });
    expect((await verify(keys, token)).payload).toEqual({ sub: 'u' });
    expect(keys.algorithms).toEqual([alg]);
  });

  it('publishes the public keys (never a private or secret part), the signing key first; none for HS256', async () => {
    const [current, previous] = [ed25519(), p256()];
    const keys = await SigningKeys.of({ signing: current, previous: [publicOf(previous)] });
    expect(keys.jwks.keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: decodeProtectedHeader(await keys.sign({})).kid, alg: 'EdDSA', use: 'sig' },
      { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: expect.any(String), alg: 'ES256', use: 'sig' },
    ]);
    expect((await SigningKeys.of({ signing: hs256('the-current-secret-key-0123456789abcdef'), previous: [] })).jwks).toEqual({ keys: [] });
  });

  it('rotation: the new key signs, tokens of the previous one (given by its public key) still verify', async () => {
    const [old, current] = [ed25519(), p256()];
    const before = await (await SigningKeys.of({ signing: old, previous: [] })).sign({ sub: 'old' });
    const keys = await SigningKeys.of({ signing: current, previous: [publicOf(old)] });
    expect(decodeProtectedHeader(await keys.sign({})).alg).toBe('ES256');
    expect((await verify(keys, before)).payload.sub).toBe('old');
    expect(keys.algorithms).toEqual(['ES256', 'EdDSA']);
    // The same key given as its private PEM (only its public half is kept): the same kid.
    const samekey = await SigningKeys.of({ signing: current, previous: [old] });
    expect((await verify(samekey, before)).payload.sub).toBe('old');
  });

  it('refuses a token that names no key of ours, or one of ours with another algorithm', async () => {
    const signing = ed25519();
    const keys = await SigningKeys.of({ signing, previous: [] });
    const { kid } = decodeProtectedHeader(await keys.sign({}));
    const refused = (header: Record<string, unknown>) => () => keys.verificationKey(header as never);
    expect(refused({ alg: 'EdDSA' })).toThrow('names no key');
    expect(refused({ alg: 'EdDSA', kid: 'someone-elses' })).toThrow('names no key');
    expect(refused({ alg: 'HS256', kid })).toThrow('names no key');
    expect(refused({ alg: 'none', kid })).toThrow('names no key');
    expect(keys.verificationKey({ alg: 'EdDSA', kid })).toBeInstanceOf(KeyObject);
  });
});
