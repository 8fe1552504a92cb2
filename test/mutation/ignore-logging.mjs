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

/** A statement that only logs: `logger.warn(…);`, or a block of nothing else. */
function isLogging(node) {
  if (node.type === 'BlockStatement') return node.body.length > 0 && node.body.every(isLogging);
  if (node.type !== 'ExpressionStatement') return false;
  const call = node.expression;
  if (call.type !== 'CallExpression' || call.callee.type !== 'MemberExpression') return false;
  const { object, property } = call.callee;
  return property.type === 'Identifier' && LOG_METHODS.has(property.name) && isLogger(object);
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'logging', {
    shouldIgnore(path) {
      if (isLogging(path.node)) return 'a logging statement (docs/mutation-testing.md)';
      // `if (…) logger.log(…)`: a guard that decides only whether to log (e.g. "log an outage once").
      if (path.isIfStatement() && !path.node.alternate && isLogging(path.node.consequent)) return 'a condition that only decides whether to log (docs/mutation-testing.md)';
      return undefined;
    },
  }),
];
