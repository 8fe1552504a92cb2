import { KeyObject, createPublicKey } from 'node:crypto';
import { JWK, JWTHeaderParameters, JWTPayload, SignJWT, calculateJwkThumbprint, exportJWK } from 'jose';
import { JwtAlgorithm, JwtKey } from '../config/auth.config';

/** A key tokens may name, by its id (the RFC 7638 thumbprint of its public JWK), with what verifies it: the public key, or the HS256 secret. */
interface VerificationKey {
  kid: string;
  alg: JwtAlgorithm;
  key: KeyObject;
}

/** A published key of GET /.well-known/jwks.json. */
export type PublicJwk = JWK & { kid: string; alg: JwtAlgorithm; use: 'sig' };

/**
 * The keys of access tokens: the one that signs new tokens, and every key a token may name (the signing
 * key and those before a rotation), each pinned to its algorithm. A token must name a known key by `kid`
 * and use that key's algorithm: this excludes `none`, HS256 with a public key as its secret, and keys
 * that are not ours.
 */
export class SigningKeys {
  private constructor(
    private readonly signing: { kid: string; alg: JwtAlgorithm; key: KeyObject },
    private readonly byKid: ReadonlyMap<string, VerificationKey>,
    /** The public keys (none for HS256, whose key is a secret). */
    readonly jwks: { keys: PublicJwk[] },
  ) {
    this.algorithms = [...new Set([...byKid.values()].map(({ alg }) => alg))];
  }

  /** Every algorithm some key uses: what the verifier allows at all. */
  readonly algorithms: JwtAlgorithm[];

  static async of(keys: { signing: JwtKey; previous: JwtKey[] }): Promise<SigningKeys> {
    const verifying = await Promise.all([keys.signing, ...keys.previous].map(verificationKeyOf));
    const byKid = new Map(verifying.map((key) => [key.kid, key])); // (a key listed twice counts once)
    const published = await Promise.all([...byKid.values()].filter(({ alg }) => alg !== 'HS256').map(publicJwk));
    return new SigningKeys({ ...keys.signing, kid: verifying[0].kid }, byKid, { keys: published });
  }

  /** A JWT of these claims, signed with the signing key and naming it. */
  sign(claims: JWTPayload): Promise<string> {
    const { alg, kid, key } = this.signing;
    return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key);
  }

  /** The key to verify a token with this header: the key its `kid` names, if its `alg` is that key's. */
  verificationKey(header: JWTHeaderParameters): KeyObject {
    const key = header.kid === undefined ? undefined : this.byKid.get(header.kid);
    if (!key || key.alg !== header.alg) throw new Error('the token names no key of this service, or another algorithm than its key\'s');
    return key.key;
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
