/**
 * The modules under mutation testing (docs/mutation-testing.md): the files Stryker mutates, and the
 * focused e2e specs that must kill their mutants. Every spec listed runs for every mutant of its
 * module (coverageAnalysis 'off'), so keep each set to the specs that exercise those files.
 * `mutate` takes Stryker's syntax: a path, or `path:startLine-endLine` for part of a file.
 */
module.exports = {
  'events-relay': {
    mutate: ['src/events/events-relay.service.ts'],
    specs: ['test/events-relay.e2e-spec.ts', 'test/events.e2e-spec.ts'],
  },
  purge: {
    mutate: ['src/scheduler/purge.service.ts'],
    specs: ['test/purge.e2e-spec.ts'],
  },
  'refresh-tokens': {
    // TokensService: its rotate() only (update the range when that method moves).
    mutate: ['src/auth/refresh-tokens.repository.ts', 'src/auth/tokens.service.ts:58-68'],
    specs: ['test/refresh-tokens.e2e-spec.ts'],
  },
  'link-tokens': {
    mutate: ['src/mail/link-tokens.service.ts'],
    specs: ['test/link-tokens.e2e-spec.ts'],
  },
};
