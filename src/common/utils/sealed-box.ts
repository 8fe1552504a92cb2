import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Authenticated encryption (AES-256-GCM, node:crypto) for secrets that must wait in the database,
 * such as a queued mail's link. The key is derived from the service's secret key with HKDF, under a
 * name per use, so that it is never the JWT key itself. During a key rotation the previous secret
 * still opens what it sealed; everything new is sealed with the current one.
 */
export class SealedBox {
  private readonly keys: Buffer[];

  constructor(secret: string, purpose: string, previousSecret?: string) {
    this.keys = [secret, ...(previousSecret ? [previousSecret] : [])].map((s) => Buffer.from(hkdfSync('sha256', s, 'users-service', purpose, 32)));
  }

  /** iv ‖ tag ‖ ciphertext */
  seal(plaintext: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0], iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
  }

  /** Throws UnopenableBoxError when no key opens the box (sealed with another key, or tampered with). */
  open(sealed: Buffer): string {
    for (const key of this.keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
        decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        // the next key, if any
      }
    }
    throw new UnopenableBoxError();
  }
}

export class UnopenableBoxError extends Error {
  constructor() {
    super('no configured key opens this sealed box (sealed under another USERS_SECRET_KEY, or tampered with)');
    this.name = 'UnopenableBoxError';
  }
}
