import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authConfig } from './auth.config';

const SECRET = 'unit-test-secret-key-that-is-long-enough-0123';
const dir = mkdtempSync(join(tmpdir(), 'jwt-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A PEM file of a new key pair of this type (its private key, or its public key). */
function pemFile(name: string, pair: { privateKey: { export(o: object): string | Buffer }; publicKey: { export(o: object): string | Buffer } }, half: 'private' | 'public' = 'private'): string {
  const file = join(dir, name);
  writeFileSync(file, half === 'private' ? pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) : pair.publicKey.export({ type: 'spki', format: 'pem' }));
  return file;
}
const ED25519 = pemFile('ed25519.pem', generateKeyPairSync('ed25519'));
const P256 = pemFile('p256.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }));
const P256_PUBLIC = pemFile('p256.pub.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'public');
const P384 = pemFile('p384.pem', generateKeyPairSync('ec', { namedCurve: 'P-384' }));
const RSA = pemFile('rsa.pem', generateKeyPairSync('rsa', { modulusLength: 2048 }));
const GARBAGE = join(dir, 'garbage.pem');
writeFileSync(GARBAGE, 'not a key');

const originalEnv = process.env;
afterEach(() => {
  process.env = originalEnv;
});
function keysWith(env: Record<string, string>) {
  process.env = { USERS_SECRET_KEY: SECRET, ...env };
  return authConfig().jwtKeys;
}
function problemWith(env: Record<string, string>): string {
  expect(() => keysWith(env)).toThrow(/^Invalid configuration/);
  try {
    keysWith(env);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('access-token keys (USERS_JWT_PRIVATE_KEY_FILE, USERS_JWT_PREVIOUS_KEY_FILES)', () => {
  it('without a key file: HS256 on USERS_SECRET_KEY, and USERS_SECRET_KEY_PREVIOUS during a rotation', () => {
    expect(keysWith({})).toEqual({ signing: { alg: 'HS256', key: expect.objectContaining({ type: 'secret' }) }, previous: [] });
    expect(keysWith({ USERS_SECRET_KEY_PREVIOUS: `${SECRET}-old` }).previous).toEqual([{ alg: 'HS256', key: expect.objectContaining({ type: 'secret' }) }]);
  });

  it('the algorithm follows the key: Ed25519 -> EdDSA, P-256 -> ES256; previous keys as private or public PEM', () => {
    expect(keysWith({ USERS_JWT_PRIVATE_KEY_FILE: ED25519 }).signing).toEqual({ alg: 'EdDSA', key: expect.objectContaining({ type: 'private', asymmetricKeyType: 'ed25519' }) });
    const keys = keysWith({ USERS_JWT_PRIVATE_KEY_FILE: P256, USERS_JWT_PREVIOUS_KEY_FILES: `${ED25519}, ${P256_PUBLIC}` });
    expect(keys.signing.alg).toBe('ES256');
    expect(keys.previous.map(({ alg, key }) => [alg, key.type])).toEqual([
      ['EdDSA', 'public'],
      ['ES256', 'public'],
    ]);
    // Asymmetric: the HS256 secret (which also seals links) is no key of tokens, even during its own rotation.
    expect(keysWith({ USERS_JWT_PRIVATE_KEY_FILE: ED25519, USERS_SECRET_KEY_PREVIOUS: `${SECRET}-old` }).previous).toEqual([]);
  });

  it('refuses other key types and unreadable files at boot, naming the variable', () => {
    expect(problemWith({ USERS_JWT_PRIVATE_KEY_FILE: RSA })).toMatch(/USERS_JWT_PRIVATE_KEY_FILE: .*rsa\.pem holds a key of type rsa; use an Ed25519 key \(EdDSA\) or a P-256 key \(ES256\)/);
    expect(problemWith({ USERS_JWT_PRIVATE_KEY_FILE: P384 })).toMatch(/USERS_JWT_PRIVATE_KEY_FILE: .* holds a key of type ec \(secp384r1\)/);
    expect(problemWith({ USERS_JWT_PRIVATE_KEY_FILE: P256_PUBLIC })).toMatch(/USERS_JWT_PRIVATE_KEY_FILE: .* is not a PEM key the service can read/);
    expect(problemWith({ USERS_JWT_PRIVATE_KEY_FILE: GARBAGE })).toMatch(/USERS_JWT_PRIVATE_KEY_FILE: .*garbage\.pem is not a PEM key/);
    expect(problemWith({ USERS_JWT_PRIVATE_KEY_FILE: join(dir, 'missing.pem') })).toMatch(/USERS_JWT_PRIVATE_KEY_FILE cannot be read: .* \(no such file\)/);
    expect(problemWith({ USERS_JWT_PRIVATE_KEY_FILE: ED25519, USERS_JWT_PREVIOUS_KEY_FILES: RSA })).toMatch(/USERS_JWT_PREVIOUS_KEY_FILES: .* holds a key of type rsa/);
    expect(problemWith({ USERS_JWT_PREVIOUS_KEY_FILES: ED25519 })).toMatch(/USERS_JWT_PREVIOUS_KEY_FILES needs USERS_JWT_PRIVATE_KEY_FILE/);
  });
});
