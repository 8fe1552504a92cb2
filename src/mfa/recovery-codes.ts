import { createHmac, hkdfSync, randomInt } from 'node:crypto';

/** Crockford's base32 without the letters that read as digits: a code is easy to copy from paper. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const RECOVERY_CODES = 10;
const CODE_CHARS = 10;

/**
 * Recovery codes: ten single-use codes of 10 random base32 characters (50 bits) each, shown once.
 * Stored as HMAC-SHA-256 under a key derived from USERS_SECRET_KEY (HKDF, its own purpose), not
 * argon2: a code is random, not chosen by a person, so a slow hash adds nothing against guessing it
 * online (which the verification rate limit bounds), and against a stolen database the key does what
 * a slow hash could not: without USERS_SECRET_KEY, 2^50 HMACs cannot even be tried. It also lets the
 * database find the code by its hash (one indexed, atomic UPDATE spends it) and costs no argon2 slot.
 * During a key rotation codes hashed under the previous key still match.
 */
export class RecoveryCodeHasher {
  private readonly keys: Buffer[];

  constructor(secret: string, previousSecret?: string) {
    this.keys = [secret, ...(previousSecret ? [previousSecret] : [])].map((s) => Buffer.from(hkdfSync('sha256', s, 'users-service', 'mfa-recovery-codes', 32)));
  }

  /** Ten new codes, `xxxxx-xxxxx`. */
  static generate(): string[] {
    return Array.from({ length: RECOVERY_CODES }, () => {
      const chars = Array.from({ length: CODE_CHARS }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
      return `${chars.slice(0, 5)}-${chars.slice(5)}`;
    });
  }

  /** The hash a new code is stored as. */
  hash(code: string): Buffer {
    return this.hashes(code)[0];
  }

  /** The hashes a presented code may be stored as (one per configured key); case, spaces and dashes do not matter. */
  hashes(code: string): Buffer[] {
    const normalised = code.toLowerCase().replace(/[\s-]/g, '');
    return this.keys.map((key) => createHmac('sha256', key).update(normalised).digest());
  }
}
