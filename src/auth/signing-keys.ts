import { KeyObject, createPublicKey } from 'node:crypto';
import { JwtService, TokenExpiredError } from '@nestjs/jwt';
import { JWK, JWTPayload, SignJWT, calculateJwkThumbprint, decodeProtectedHeader, errors, exportJWK, jwtVerify } from 'jose';
import { AppError, withoutStackTraces } from '../common/errors/app-error';
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
 * HS256 and ES256 tokens are signed and verified by @nestjs/jwt (jsonwebtoken); EdDSA by jose, because
 * jsonwebtoken has no EdDSA (it refuses the algorithm's name; passport-jwt#236, #258).
 */
export class SigningKeys {
  private constructor(
    private readonly jwt: JwtService,
    private readonly signing: { kid: string; alg: JwtAlgorithm; key: KeyObject },
    private readonly byKid: ReadonlyMap<string, VerificationKey>,
    /** The public keys (none for HS256, whose key is a secret). */
    readonly jwks: { keys: PublicJwk[] },
  ) {}

  static async of(jwt: JwtService, keys: { signing: JwtKey; previous: JwtKey[] }): Promise<SigningKeys> {
    const verifying = await Promise.all([keys.signing, ...keys.previous].map(verificationKeyOf));
    const byKid = new Map(verifying.map((key) => [key.kid, key])); // (a key listed twice counts once)
    const published = await Promise.all([...byKid.values()].filter(({ alg }) => alg !== 'HS256').map(publicJwk));
    return new SigningKeys(jwt, { ...keys.signing, kid: verifying[0].kid }, byKid, { keys: published });
  }

  /** A JWT of these claims, signed with the signing key and naming it. */
  sign(claims: JWTPayload): Promise<string> {
    const { alg, kid, key } = this.signing;
    if (alg === 'EdDSA') return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key);
    return this.jwt.signAsync(claims, { algorithm: alg, keyid: kid, privateKey: key });
  }

  /**
   * The claims of a token signed by the key its `kid` names, with that key's algorithm, unexpired, of
   * the expected issuer and audience; else TOKEN_EXPIRED or TOKEN_INVALID.
   */
  async verify<Claims extends object>(token: string, expected: ExpectedClaims): Promise<Claims> {
    try {
      const { alg, key } = this.keyNamedBy(token);
      if (alg === 'EdDSA') return (await jwtVerify<Claims>(token, key, { algorithms: [alg], ...expected })).payload;
      // Synchronous (jsonwebtoken's verification is), and without the two stack traces that its error for a
      // refused token would capture. (jsonwebtoken takes the KeyObject as it is; @nestjs/jwt's types name only
      // PEM strings and buffers.)
      return withoutStackTraces(() => this.jwt.verify<Claims>(token, { algorithms: [alg], publicKey: key as unknown as Buffer, ...expected }));
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

/** Its public half (of a private key) or the key itself (a public key, the HS256 secret), named by its thumbprint. */
async function verificationKeyOf({ alg, key }: JwtKey): Promise<VerificationKey> {
  const verifying = key.type === 'private' ? createPublicKey(key) : key;
  return { kid: await calculateJwkThumbprint(await exportJWK(verifying)), alg, key: verifying };
}

async function publicJwk({ kid, alg, key }: VerificationKey): Promise<PublicJwk> {
  return { ...(await exportJWK(key)), kid, alg, use: 'sig' };
}
