/**
 * How the process runs, from NODE_ENV: unset or `development` is development (the committed `.env` is
 * read), `test` is the test suites (they set every variable themselves), and anything else —
 * `production`, but also `staging` or a typo — is production, where development defaults are refused.
 */
export type RunMode = 'development' | 'test' | 'production';

export function runMode(env: NodeJS.ProcessEnv = process.env): RunMode {
  const value = env.NODE_ENV?.trim() ?? '';
  if (value === '' || value === 'development') return 'development';
  if (value === 'test') return 'test';
  return 'production';
}
