import { KeyObject, createHmac, timingSafeEqual } from 'node:crypto';
import { AuthConfig } from '../config/auth.config';

/** Whether `token`'s HS256 signature was made with `key` (the claims are checked afterwards, by jsonwebtoken). */
function signedWith(token: string, key: KeyObject): boolean {
  const dot = token.lastIndexOf('.');
  if (dot <= 0) return false;
  const expected = createHmac('sha256', key).update(token.slice(0, dot)).digest();
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The key to verify `token` with: the current one, or — during a key rotation
 * (USERS_SECRET_KEY_PREVIOUS set) — the previous one for a token only it signed, so that tokens
 * issued before the rotation keep working until they expire. New tokens are signed with the current key.
 */
export function verificationKey(token: string, auth: Pick<AuthConfig, 'jwtKey' | 'previousJwtKey'>): KeyObject {
  if (!auth.previousJwtKey || signedWith(token, auth.jwtKey)) return auth.jwtKey;
  return signedWith(token, auth.previousJwtKey) ? auth.previousJwtKey : auth.jwtKey;
}
