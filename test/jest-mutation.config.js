/**
 * Mutation runs (npm run test:mutation): the e2e configuration, limited to one module's focused specs
 * (MUTATION_MODULE, see test/mutation/modules.js). Stryker runs them once per mutant.
 * MUTATION_SPECS (comma-separated paths) runs other specs instead: how the "before" scores in
 * docs/mutation-testing.md were measured with the specs that existed then.
 */
const e2e = require('./jest-e2e.config');
const modules = require('./mutation/modules');

const name = process.env.MUTATION_MODULE;
const selected = modules[name];
if (!selected) throw new Error(`MUTATION_MODULE must name one of ${Object.keys(modules).join(', ')} (got ${name})`);
const specs = process.env.MUTATION_SPECS ? process.env.MUTATION_SPECS.split(',') : selected.specs;

const { testRegex, ...rest } = e2e;
module.exports = {
  ...rest,
  testMatch: specs.map((spec) => `<rootDir>/${spec.trim()}`),
  transform: {
    ...rest.transform,
    // Transpile only (each file alone, as the unit tests do): a mutation run boots the app once per
    // mutant, and type checks are the typescript checker's job. Without the swagger transformer,
    // which needs a whole program: these specs check behaviour, not the OpenAPI document.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false, isolatedModules: true }],
  },
};
