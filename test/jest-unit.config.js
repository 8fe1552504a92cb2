/** Unit tests: specs beside the code, no servers. */
const esmDependencies = require('./support/esm-dependencies');

module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  testRegex: 'src/.*\\.spec\\.ts$',
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false, isolatedModules: true }], ...esmDependencies.transform },
  transformIgnorePatterns: esmDependencies.transformIgnorePatterns,
  modulePathIgnorePatterns: ['<rootDir>/dist'],
};
