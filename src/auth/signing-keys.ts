import { KeyObject, createHmac, createPublicKey, sign as cryptoSign } from 'node:crypto';
import { JwtService, TokenExpiredError } from '@nestjs/jwt';
import { JWK, calculateJwkThumbprint, decodeProtectedHeader, errors, exportJWK, jwtVerify } from 'jose';
import { AppError } from '../common/errors/app-error';
import { JwtAlgorithm, JwtKey } from '../config/auth.config';

/** A key tokens may name, by its id (the RFC 7638 thumbprint of its public JWK), with what verifies it: the public key, or the HS256 secret. */
interface VerificationKey {
  kid: string;
  alg: JwtAlgorithm;
  key: KeyObject;
}

/** A published key of GET /.well-known/jwks.json. */
export type PublicJwk = JWK & { kid: string; alg: JwtAlgorithm; use: 'sig' };

/** What a token must also say of itself: who issued it, for whom. */
export interface ExpectedClaims {
  issuer: string;
  audience: string;
}

/**
 * The keys of access tokens: the one that signs new tokens, and every key a token may name (the signing
 * key and those before a rotation), each pinned to its algorithm. A token must name a known key by `kid`
 * and use that key's algorithm: this excludes `none`, HS256 with a public key as its secret, and keys
 * that are not ours.
 *
 * Tokens are signed with node:crypto directly (RFC 7515's compact form: the header, fixed per key, is
 * encoded once): jsonwebtoken's option checks and copies cost more than the signature itself, on every
 * login and refresh. HS256 and ES256 tokens are verified by @nestjs/jwt (jsonwebtoken); EdDSA by jose,
 * because jsonwebtoken has no EdDSA (it refuses the algorithm's name; passport-jwt#236, #258).
 */
export class SigningKeys {
  private constructor(
    private readonly jwt: JwtService,
    /** The signing key, and the encoded header of its tokens (alg, typ, kid). */
    private readonly signing: { alg: JwtAlgorithm; key: KeyObject; header: string },
    private readonly byKid: ReadonlyMap<string, VerificationKey>,
    /** The public keys (none for HS256, whose key is a secret). */
    readonly jwks: { keys: PublicJwk[] },
  ) {}

  static async of(jwt: JwtService, keys: { signing: JwtKey; previous: JwtKey[] }): Promise<SigningKeys> {
    const verifying = await Promise.all([keys.signing, ...keys.previous].map(verificationKeyOf));
    const byKid = new Map(verifying.map((key) => [key.kid, key])); // (a key listed twice counts once)
    const published = await Promise.all([...byKid.values()].filter(({ alg }) => alg !== 'HS256').map(publicJwk));
    const { alg, key } = keys.signing;
    const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT', kid: verifying[0].kid })).toString('base64url');
    return new SigningKeys(jwt, { alg, key, header }, byKid, { keys: published });
  }

  /** A JWT of these claims (as given: nothing added), signed with the signing key and naming it. */
  async sign(claims: object): Promise<string> {
    const { alg, key, header } = this.signing;
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${input}.${signature(alg, key, input)}`;
  }

  /**
   * The claims of a token signed by the key its `kid` names, with that key's algorithm, unexpired, of
   * the expected issuer and audience; else TOKEN_EXPIRED or TOKEN_INVALID.
   */
  async verify<Claims extends object>(token: string, expected: ExpectedClaims): Promise<Claims> {
    try {
      const { alg, key } = this.keyNamedBy(token);
      if (alg === 'EdDSA') return (await jwtVerify<Claims>(token, key, { algorithms: [alg], ...expected })).payload;
      // (jsonwebtoken takes the KeyObject as it is; @nestjs/jwt's types name only PEM strings and buffers)
      return await this.jwt.verifyAsync<Claims>(token, { algorithms: [alg], publicKey: key as unknown as Buffer, ...expected });
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError(error instanceof TokenExpiredError || error instanceof errors.JWTExpired ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID');
    }
  }

  /** The key of a token's `kid`, if the token's `alg` is that key's. */
  private keyNamedBy(token: string): VerificationKey {
    const header = decodeProtectedHeader(token); // (throws on what is no JWT)
    const key = header.kid === undefined ? undefined : this.byKid.get(header.kid);
    if (!key || key.alg !== header.alg) throw new AppError('TOKEN_INVALID', "the token names no key of this service, or another algorithm than its key's");
    return key;
  }
}

/** The JWS signature of `input` (RFC 7518): HMAC SHA-256, ECDSA P-256 SHA-256 as r || s (not DER), or Ed25519. */
function signature(alg: JwtAlgorithm, key: KeyObject, input: string): string {
  if (alg === 'HS256') return createHmac('sha256', key).update(input).digest('base64url');
  if (alg === 'ES256') return cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return cryptoSign(null, Buffer.from(input), key).toString('base64url');
}

/** Its public half (of a private key) or the key itself (a public key, the HS256 secret), named by its thumbprint. */
async function verificationKeyOf({ alg, key }: JwtKey): Promise<VerificationKey> {
  const verifying = key.type === 'private' ? createPublicKey(key) : key;
  return { kid: await calculateJwkThumbprint(await exportJWK(verifying)), alg, key: verifying };
}

async function publicJwk({ kid, alg, key }: VerificationKey): Promise<PublicJwk> {
  return { ...(await exportJWK(key)), kid, alg, use: 'sig' };
}
