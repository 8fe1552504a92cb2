/** Unit tests: specs beside the code, no servers. */
const esmDependencies = require('./support/esm-dependencies');

module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  testRegex: 'src/.*\\.spec\\.ts$',
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false, isolatedModules: true }], ...esmDependencies.transform },
  transformIgnorePatterns: esmDependencies.transformIgnorePatterns,
  // dist: the build; .stryker-tmp: a mutation run's sandbox (a copy of the project) while it runs.
  modulePathIgnorePatterns: ['<rootDir>/dist', '<rootDir>/.stryker-tmp'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/.stryker-tmp'],
};
