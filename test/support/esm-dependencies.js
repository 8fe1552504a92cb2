/**
 * jose ships ES modules only: Node (>= 20.19) loads them with require(), jest's module system does not,
 * so the tests compile them to CommonJS. Spread into both jest configs.
 */
module.exports = {
  transform: { '^.+/node_modules/jose/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true }, diagnostics: false }] },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
};
