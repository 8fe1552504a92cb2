// @ts-check
/**
 * StrykerJS for the modules in test/mutation/modules.js, one module per run (MUTATION_MODULE):
 * `npm run test:mutation [-- <module>...] [--incremental]` (test/mutation/run.js). docs/mutation-testing.md
 * says why coverageAnalysis is 'off', what is ignored, how long a module takes, and the scores.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const modules = require('./test/mutation/modules.js');

const name = process.env.MUTATION_MODULE ?? '';
const selected = modules[name];
if (!selected) throw new Error(`MUTATION_MODULE must name one of ${Object.keys(modules).join(', ')} (got "${name}")`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: selected.mutate,
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    configFile: 'test/jest-mutation.config.js',
    // The focused specs are the module's; findRelatedTests would only add a dependency walk.
    enableFindRelatedTests: false,
  },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  // The e2e specs start their app in beforeAll and the relay and scheduler work in the background:
  // per-test coverage would call that code "static" or credit it to whichever test ran meanwhile.
  // So every mutant runs the module's whole focused spec set (seconds), which is why the sets are small.
  coverageAnalysis: 'off',
  ignoreStatic: false,
  plugins: ['@stryker-mutator/jest-runner', '@stryker-mutator/typescript-checker', './test/mutation/ignore-logging.mjs'],
  ignorers: ['logging'],
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 1),
  // A mutant that hangs a wait (a relay that never publishes) fails its test after the wait's own
  // limit; this only bounds a run that hangs outright (a loop that never ends).
  timeoutMS: 60_000,
  timeoutFactor: 1.5,
  incremental: process.env.MUTATION_INCREMENTAL === 'true',
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true, reportScoreTable: true },
  ignorePatterns: ['dist', 'reports', 'test-output', 'coverage', 'bench/results', 'data'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
