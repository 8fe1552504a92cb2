import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** `<row id>.<256 random bits, base64url>`: the shape of refresh tokens and mailed link tokens. */
const OPAQUE_TOKEN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

export interface OpaqueToken {
  /** The id of its row. */
  id: string;
  /** What the holder gets; never stored. */
  token: string;
  /** What is stored: the secret is 256 random bits, so a fast hash is as good as a slow one. */
  hash: Buffer;
}

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest();

export function newOpaqueToken(): OpaqueToken {
  const id = randomUUID();
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `${id}.${secret}`, hash: hashSecret(secret) };
}

/** The row id and the hash to look the token up by, or undefined when it has not the shape of one. */
export function parseOpaqueToken(token: string): { id: string; hash: Buffer } | undefined {
  const match = OPAQUE_TOKEN.exec(token);
  return match ? { id: match[1], hash: hashSecret(match[2]) } : undefined;
}
