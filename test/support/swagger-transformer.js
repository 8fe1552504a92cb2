// Runs the @nestjs/swagger CLI plugin inside ts-jest with the options of nest-cli.json, so that the
// app under test describes itself exactly as the built app does (the OpenAPI drift test relies on it).
const plugin = require('@nestjs/swagger/plugin');
const nestCli = require('../../nest-cli.json');

const { options } = nestCli.compilerOptions.plugins.find((p) => p.name === '@nestjs/swagger');

module.exports.name = 'nestjs-swagger-transformer';
module.exports.version = 2;
module.exports.factory = (compiler) => plugin.before(options, compiler.program);
