import { IsUrl } from 'class-validator';

export const URL_OPTIONS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/** This service's public URL, shared by the namespaces whose link defaults point at it (mail links, OAuth callbacks). */
export class PublicUrlEnv {
  @IsUrl(URL_OPTIONS)
  USERS_PUBLIC_URL = 'http://localhost:9002';
}

/** `path` under the public URL, without a doubled slash. */
export function publicLink(publicUrl: string, path: string): string {
  return `${publicUrl.replace(/\/$/, '')}${path}`;
}
