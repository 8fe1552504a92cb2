/**
 * A Stryker ignorer: no mutants in logging statements (`this.logger.warn(…)`, `logger.log(…)`). Their
 * messages and fields are for people reading logs; a mutant there survives every behavioural test and
 * says nothing about the code. The condition around a log call is still mutated.
 */
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

const LOG_METHODS = new Set(['log', 'warn', 'error', 'debug', 'verbose', 'fatal', 'info', 'trace']);

/** `this.logger`, `logger`, `this.log`: the receiver of a logging call. */
function isLogger(node) {
  if (node.type === 'Identifier') return /^log(ger)?$/.test(node.name);
  if (node.type === 'MemberExpression' && node.object.type === 'ThisExpression' && node.property.type === 'Identifier') return /^log(ger)?$/.test(node.property.name);
  return false;
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'logging', {
    shouldIgnore(path) {
      if (!path.isExpressionStatement()) return undefined;
      const call = path.node.expression;
      if (call.type !== 'CallExpression' || call.callee.type !== 'MemberExpression') return undefined;
      const { object, property } = call.callee;
      if (property.type === 'Identifier' && LOG_METHODS.has(property.name) && isLogger(object)) return 'a logging statement (docs/mutation-testing.md)';
      return undefined;
    },
  }),
];
