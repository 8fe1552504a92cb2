import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { KNOWN_WEAK_PASSWORDS } from './admin.config';
import { ENV_FILE } from './env-file';

/** The signing key of the committed `.env`: public, so anyone could forge tokens with it. */
export const DEVELOPMENT_SECRET_KEYS = new Set(['development-only-secret-key-change-me-in-production']);

const KEY_HINT = 'set a key of your own (e.g. `openssl rand -base64 48`)';

/**
 * What production (NODE_ENV=production, or any value but development/test) refuses: the development
 * defaults that are harmless on a laptop and dangerous on a server. Each problem names its variable.
 */
export function productionProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  for (const name of ['USERS_SECRET_KEY', 'USERS_SECRET_KEY_PREVIOUS']) {
    if (DEVELOPMENT_SECRET_KEYS.has(env[name] ?? '')) problems.push(`${name} is the public development key of the committed .env; ${KEY_HINT}`);
  }
  if (KNOWN_WEAK_PASSWORDS.has(env.USERS_ADMIN_PASSWORD ?? '')) {
    problems.push('USERS_ADMIN_PASSWORD is a well-known default password; set a strong one (it is read only when the first admin is created)');
  }
  if (env.USERS_DB_DRIVER === 'pglite') problems.push('USERS_DB_DRIVER=pglite is for development only; use postgres');
  if (env.EMAIL_HOST !== undefined && env.EMAIL_HOST.trim() === '') {
    problems.push('EMAIL_HOST is empty, which writes every mail with its live link to the log; set your SMTP server');
  }
  return problems;
}

/** What production allows but an operator should know about. */
export function productionWarnings(env: NodeJS.ProcessEnv, cwd = process.cwd()): string[] {
  const warnings: string[] = [];
  if (existsSync(resolve(cwd, ENV_FILE))) warnings.push(`${ENV_FILE} in ${cwd} is ignored outside development: configure the service through its environment`);
  if (env.USERS_ES_URL !== undefined && env.USERS_ES_URL.trim() === '') warnings.push('USERS_ES_URL is empty: no NATS, domain events stay in the outbox table');
  return warnings;
}
