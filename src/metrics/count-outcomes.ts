import { AddRouteConfig } from '../common/decorators/route-config.decorator';

export type OutcomeCounter = 'logins' | 'refreshes';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The counter of the route's outcomes (CountOutcomes), fed by Metrics' onResponse hook. */
    outcomeCounter?: OutcomeCounter;
  }
}

/**
 * Counts each call of the handler in `users_<counter>_total` by result: success or the error code.
 * A Fastify route config read by Metrics' onResponse hook, not an interceptor: Nest runs a route that
 * has any interceptor through rxjs (two AsyncResource bindings, a ReplaySubject, a watch for the
 * client's disconnection), 9–18 % of a refresh's CPU when measured (README, Hot paths).
 */
export const CountOutcomes = (counter: OutcomeCounter) => AddRouteConfig({ outcomeCounter: counter });
