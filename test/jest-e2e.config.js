/** End-to-end tests: the real AppModule against the machine's PostgreSQL, one database per file. */
const esmDependencies = require('./support/esm-dependencies');

module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  testRegex: 'test/.*\\.e2e-spec\\.ts$',
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        tsconfig: 'tsconfig.json',
        // Type errors are `npm run lint`'s job; this keeps the swagger plugin, which needs a program.
        diagnostics: false,
        astTransformers: { before: ['<rootDir>/test/support/swagger-transformer.js'] },
      },
    ],
    ...esmDependencies.transform,
  },
  transformIgnorePatterns: esmDependencies.transformIgnorePatterns,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 2,
  // A guard against a hang, not a timing assertion: tests wait on conditions, and a shared 2-core
  // machine (several suites, CI) can make a slow boot or a batch of argon2 hashes take long.
  testTimeout: 120_000,
  // dist: the build; .stryker-tmp: a mutation run's sandbox (a copy of the project) while it runs.
  modulePathIgnorePatterns: ['<rootDir>/dist', '<rootDir>/.stryker-tmp'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/.stryker-tmp'],
};
