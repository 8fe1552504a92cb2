import { FROM_ENV_FILE } from './env-file';

export type ValueSource = 'env' | '.env' | 'default';

export interface EffectiveValue {
  value: unknown;
  source: ValueSource;
}

/** Secrets by name: passwords, keys, tokens, credentials (not their durations, patterns, file paths or rate limits). */
const SECRET_NAME = /(^|_)(SECRET|PASS|PASSWORD|TOKEN|SEED|CREDS)(_|$)|_SECRET_KEY/;
const NOT_SECRET = /_(DURATION|REGEX|FILE|SUBJECT|TEMPLATE|URL_PREFIX)$|^USERS_RATE_LIMIT_/;
const URL_CREDENTIALS = /\/\/[^/@\s]+@/g;

export function isSecretVariable(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET.test(name);
}

function shown(name: string, value: unknown): unknown {
  if (value === undefined || value === '') return value ?? null;
  if (isSecretVariable(name)) return '[MASKED]';
  return typeof value === 'string' ? value.replace(URL_CREDENTIALS, '//[MASKED]@') : value;
}

/**
 * Every known variable with the value the service runs with and where it came from (the
 * environment, the development `.env`, or the built-in default), secrets masked: logged once at startup.
 */
export function effectiveConfiguration(env: NodeJS.ProcessEnv, known: Map<string, unknown>): Record<string, EffectiveValue> {
  const effective: Record<string, EffectiveValue> = {};
  for (const name of [...known.keys()].sort()) {
    const given = env[name];
    effective[name] =
      given === undefined
        ? { value: shown(name, known.get(name)), source: 'default' }
        : { value: shown(name, given), source: FROM_ENV_FILE.has(name) ? '.env' : 'env' };
  }
  return effective;
}
