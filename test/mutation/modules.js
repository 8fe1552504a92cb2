/**
 * The modules under mutation testing (docs/mutation-testing.md): the files Stryker mutates, and the
 * focused e2e specs that must kill their mutants, and the environment they run in (`env`). Every spec listed runs for every mutant of its
 * module (coverageAnalysis 'off'), so keep each set to the specs that exercise those files.
 * `mutate` takes Stryker's syntax: a path, or `path:startLine-endLine` for part of a file.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/** `file:start-end`, the lines of one class method (found by its name), so the range follows the code. */
function method(file, name) {
  const lines = readFileSync(join(__dirname, '../..', file), 'utf8').split('\n');
  const start = lines.findIndex((line) => new RegExp(`^  (async )?${name}\\(`).test(line));
  const end = lines.findIndex((line, i) => i > start && line === '  }');
  if (start < 0 || end < 0) throw new Error(`test/mutation/modules.js: no method ${name} in ${file}`);
  return `${file}:${start + 1}-${end + 1}`;
}

module.exports = {
  'events-relay': {
    mutate: ['src/events/events-relay.service.ts'],
    specs: ['test/events-relay.e2e-spec.ts'],
  },
  purge: {
    mutate: ['src/scheduler/purge.service.ts'],
    specs: ['test/purge.e2e-spec.ts'],
  },
  'refresh-tokens': {
    // TokensService: its rotate() only.
    mutate: ['src/auth/refresh-tokens.repository.ts', method('src/auth/tokens.service.ts', 'rotate')],
    specs: ['test/refresh-tokens.e2e-spec.ts'],
  },
  'access-token-guard': {
    mutate: ['src/auth/guards/auth.guard.ts', 'src/auth/access-token-verifier.service.ts'],
    specs: ['test/access-token-guard.e2e-spec.ts'],
  },
  'link-tokens': {
    mutate: ['src/mail/link-tokens.service.ts'],
    specs: ['test/link-tokens.e2e-spec.ts'],
  },
  'rate-limits': {
    mutate: ['src/rate-limit/rate-limit.guard.ts', 'src/rate-limit/rate-limit-store.service.ts', 'src/rate-limit/login-lockout.service.ts', 'src/rate-limit/rate-limit.module.ts'],
    // The rules in seconds (short windows, cheap hashes). test/rate-limits.e2e-spec.ts and
    // test/brute-force.e2e-spec.ts say the same at full size (about 35 s per mutant together on an idle machine):
    // MUTATION_SPECS=test/rate-limits.e2e-spec.ts,test/brute-force.e2e-spec.ts runs them instead.
    specs: ['test/rate-limit-rules.e2e-spec.ts'],
    // With MUTATION_SPECS naming test/rate-limits.e2e-spec.ts: its two replicas booted from src in the
    // test's process, where the mutants are (in npm test they are built processes).
    env: { RATE_LIMIT_REPLICAS: 'in-process' },
  },
};
