import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { runMode } from './run-mode';

export const ENV_FILE = '.env';

/** Every variable the process took from the file (the file is read once per configuration load). */
export const FROM_ENV_FILE = new Set<string>();

/**
 * Reads `.env` from the working directory into `env`, in development only (NODE_ENV unset or
 * `development`): production must never run on the committed development values, and the tests set
 * their whole environment themselves. Variables already set win over the file; FROM_ENV_FILE keeps
 * the names that came from it, so that the effective configuration can say where each value came from.
 */
export function loadDevelopmentEnvFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): void {
  const file = resolve(cwd, ENV_FILE);
  if (runMode(env) !== 'development' || !existsSync(file)) return;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(file, 'utf8')))) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    FROM_ENV_FILE.add(name);
  }
}
