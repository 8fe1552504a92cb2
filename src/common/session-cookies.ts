import { IncomingHttpHeaders } from 'node:http';
import { SerializeOptions, parse, serialize } from 'cookie';
import { FastifyReply } from 'fastify';

/** The cookies of a browser session (an OAuth sign-in hands the session to the UI this way). */
export const ACCESS_COOKIE = 'access_token';
export const REFRESH_COOKIE = 'refresh_token';

/** A cookie to set on an answer; a null value clears it. */
export interface CookieToSet {
  name: string;
  value: string | null;
  options: SerializeOptions;
}

/**
 * A request's cookie. Parsed only where a cookie can matter (the few routes that read one), not by
 * a hook on every request: most requests carry none, and a hook costs each of them.
 */
export function readCookie(request: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const header = request.headers.cookie;
  return header ? parse(header)[name] : undefined;
}

export function setCookies(reply: FastifyReply, cookies: CookieToSet[]): void {
  if (cookies.length === 0) return;
  reply.header(
    'Set-Cookie',
    cookies.map(({ name, value, options }) => serialize(name, value ?? '', value === null ? { ...options, maxAge: 0, expires: new Date(0) } : options)),
  );
}
