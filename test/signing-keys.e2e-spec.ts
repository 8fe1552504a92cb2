/**
 * Asymmetric access tokens (#12): USERS_JWT_PRIVATE_KEY_FILE picks the algorithm from the key (Ed25519
 * → EdDSA, P-256 → ES256), every token names its key (`kid`), GET /.well-known/jwks.json publishes the
 * public keys, a rotation keeps the previous key's tokens working, and forged tokens of every kind are
 * refused — by the HTTP guard and by users.verify_token over NATS alike (one verifier).
 */
import { KeyObject, createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JWK, JWTPayload, SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { JSONCodec, NatsConnection, connect } from 'nats';
import { MACHINE_NATS, isolatedStream } from './support/nats';
import { SECRET_KEY, TestApp, createTestDatabase, startTestApp } from './support/test-app';
import { TestUser, bearer, createUser, login } from './support/users';

type Json = Record<string, unknown>;
const json = JSONCodec<Json>();
const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

const dir = mkdtempSync(join(tmpdir(), 'jwt-keys-e2e-'));
/** A new key pair, its private key written as a PEM file. */
function keyFile(name: string, type: 'ed25519' | 'p256') {
  const pair = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const file = join(dir, `${name}.pem`);
  writeFileSync(file, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { file, ...pair, alg: type === 'ed25519' ? 'EdDSA' : 'ES256' };
}

/** Claims as the service issues them for `user`'s session, with `overrides`. */
function claimsFor(user: TestUser, overrides: Json = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { sub: user.id, role: 'user', verified: true, type: 'access', sid: decodeJwt(user.accessToken).sid, jti: randomUUID(), iat: now, exp: now + 600, iss: 'users', aud: 'users', ...overrides };
}

/** A token signed with HMAC-SHA256 by hand (jose refuses to use a public key as an HMAC secret, as it should). */
function hs256(header: Json, claims: JWTPayload, secret: string | Buffer): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const signed = (claims: JWTPayload, alg: string, kid: string | undefined, key: KeyObject) =>
  new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) }).sign(key);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  ['Ed25519', 'ed25519' as const],
  ['P-256', 'p256' as const],
])('access tokens signed by a key file (%s)', (_name, type) => {
  const key = keyFile(`current-${type}`, type);
  const { api, env } = isolatedStream();
  let t: TestApp;
  let nc: NatsConnection;
  let user: TestUser;
  let kid: string;

  beforeAll(async () => {
    nc = await connect({ servers: MACHINE_NATS });
    t = await startTestApp({ env: { USERS_JWT_PRIVATE_KEY_FILE: key.file, ...env(MACHINE_NATS) } });
    user = await createUser(t);
    kid = decodeProtectedHeader(user.accessToken).kid as string;
  });
  afterAll(async () => {
    await t?.close();
    await nc?.close();
  });

  const verifyOverNats = async (token: string) => json.decode((await nc.request(api('verify_token'), json.encode({ token }), { timeout: 5000 })).data);

  /** The guard and users.verify_token both refuse `token` with `code`. */
  async function expectRefused(token: string, code: string) {
    const http = await t.http.get('/users/profile').set(bearer(token));
    expect({ status: http.status, code: http.body.code }).toEqual({ status: 401, code });
    expect(await verifyOverNats(token)).toEqual({ error: { statusCode: 401, code, message: expect.any(String) } });
  }

  it(`signs with ${key.alg}, naming the key (kid) that GET /.well-known/jwks.json publishes, cacheable`, async () => {
    expect(decodeProtectedHeader(user.accessToken)).toEqual({ alg: key.alg, typ: 'JWT', kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const response = await t.http.get('/.well-known/jwks.json').expect(200);
    expect(response.headers['cache-control']).toBe('public, max-age=300');
    expect(response.body).toEqual({ keys: [{ ...(key.publicKey.export({ format: 'jwk' }) as JWK), kid, alg: key.alg, use: 'sig' }] });
    // Another service verifies offline with the published set alone.
    const { payload } = await jwtVerify(user.accessToken, createLocalJWKSet(response.body), { issuer: 'users', audience: 'users' });
    expect(payload).toMatchObject({ sub: user.id, type: 'access' });
    expect(await verifyOverNats(user.accessToken)).toMatchObject({ user_id: user.id, role: 'user' });
  });

  it('refuses alg "none", with or without our kid', async () => {
    const unsigned = (header: Json) => `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claimsFor(user)))}.`;
    await expectRefused(unsigned({ alg: 'none', kid }), 'TOKEN_INVALID');
    await expectRefused(unsigned({ alg: 'none' }), 'TOKEN_INVALID');
  });

  it('refuses HS256 signed with the public key (PEM, DER or JWK) as the HMAC secret: no algorithm confusion', async () => {
    const pem = key.publicKey.export({ type: 'spki', format: 'pem' });
    const der = key.publicKey.export({ type: 'spki', format: 'der' });
    for (const secret of [pem, der, JSON.stringify(key.publicKey.export({ format: 'jwk' }))]) {
      await expectRefused(hs256({ alg: 'HS256', typ: 'JWT', kid }, claimsFor(user), secret), 'TOKEN_INVALID');
      await expectRefused(hs256({ alg: 'HS256', typ: 'JWT' }, claimsFor(user), secret), 'TOKEN_INVALID');
    }
  });

  it('refuses HS256 signed with USERS_SECRET_KEY: with a key file, that secret cannot mint tokens', async () => {
    await expectRefused(hs256({ alg: 'HS256', typ: 'JWT' }, claimsFor(user), SECRET_KEY), 'TOKEN_INVALID');
  });

  it('refuses a missing or unknown kid, and a key of ours with another algorithm', async () => {
    await expectRefused(await signed(claimsFor(user), key.alg, undefined, key.privateKey), 'TOKEN_INVALID');
    await expectRefused(await signed(claimsFor(user), key.alg, 'not-a-key-of-ours', key.privateKey), 'TOKEN_INVALID');
    // A key that is not ours, claiming our kid.
    const stranger = keyFile(`stranger-${type}`, type);
    await expectRefused(await signed(claimsFor(user), stranger.alg, kid, stranger.privateKey), 'TOKEN_INVALID');
    // Our kid with the other asymmetric algorithm, signed by a key of that kind.
    const other = keyFile(`other-${type}`, type === 'ed25519' ? 'p256' : 'ed25519');
    await expectRefused(await signed(claimsFor(user), other.alg, kid, other.privateKey), 'TOKEN_INVALID');
  });

  it('refuses a token of our key that is expired (TOKEN_EXPIRED), or has a changed payload', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await signed(claimsFor(user, { iat: now - 3600, exp: now - 1800 }), key.alg, kid, key.privateKey), 'TOKEN_EXPIRED');
    const [head, , signature] = user.accessToken.split('.');
    await expectRefused(`${head}.${b64url(JSON.stringify(claimsFor(user, { role: 'admin' })))}.${signature}`, 'TOKEN_INVALID');
    // Signed by us, but without a session: the checks after the signature still run.
    await expectRefused(await signed(claimsFor(user, { sid: undefined }), key.alg, kid, key.privateKey), 'TOKEN_INVALID');
  });

  it('a token verified before (remembered) is still refused once its session is revoked', async () => {
    const session = await createUser(t);
    for (let i = 0; i < 3; i++) await t.http.get('/users/profile').set(bearer(session.accessToken)).expect(200);
    await t.http.post('/users/logout').set(bearer(session.accessToken)).expect(204);
    await expectRefused(session.accessToken, 'TOKEN_REVOKED');
  });
});

describe('key rotation (USERS_JWT_PREVIOUS_KEY_FILES)', () => {
  it('the new key signs, tokens of the previous one verify until it is dropped; both are published', async () => {
    const [old, current] = [keyFile('rotation-old', 'ed25519'), keyFile('rotation-new', 'p256')];
    const database = await createTestDatabase();
    try {
      const before = await startTestApp({ database: database.name, env: { USERS_JWT_PRIVATE_KEY_FILE: old.file } });
      const user = await createUser(before);
      await before.close();
      const oldKid = decodeProtectedHeader(user.accessToken).kid;

      const rotated = await startTestApp({ database: database.name, env: { USERS_JWT_PRIVATE_KEY_FILE: current.file, USERS_JWT_PREVIOUS_KEY_FILES: old.file } });
      try {
        expect((await rotated.http.get('/users/profile').set(bearer(user.accessToken)).expect(200)).body.id).toBe(user.id);
        const fresh = (await login(rotated, user.email, user.password)).accessToken;
        expect(decodeProtectedHeader(fresh)).toMatchObject({ alg: 'ES256', kid: expect.not.stringMatching(oldKid as string) });
        const jwks = (await rotated.http.get('/.well-known/jwks.json').expect(200)).body as { keys: JWK[] };
        expect(jwks.keys.map((k) => [k.alg, k.kid])).toEqual([
          ['ES256', decodeProtectedHeader(fresh).kid],
          ['EdDSA', oldKid],
        ]);
      } finally {
        await rotated.close();
      }

      const after = await startTestApp({ database: database.name, env: { USERS_JWT_PRIVATE_KEY_FILE: current.file } });
      try {
        expect((await after.http.get('/users/profile').set(bearer(user.accessToken))).body.code).toBe('TOKEN_INVALID');
      } finally {
        await after.close();
      }
    } finally {
      await database.drop();
    }
  });
});
