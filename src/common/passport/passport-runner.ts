import passport from 'passport';

/** How a passport strategy ended a request. */
export type PassportOutcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'success'; user: unknown; info: unknown }
  | { kind: 'fail'; info: unknown }
  | { kind: 'error'; error: unknown };

/**
 * Runs a passport strategy registered on passport's global authenticator with authenticate and a
 * custom callback, and answers how it ended. A strategy that redirects (to the provider's authorization page) writes the redirect
 * on the response passport is given; here that is a recorder, so the outcome comes back as a value
 * and the controller answers with Fastify (passport's Express-style writes would not work on it).
 */
export function runPassport(strategy: string, request: object): Promise<PassportOutcome> {
  return new Promise((resolve) => {
    const headers = new Map<string, string>();
    const response = {
      statusCode: 200,
      setHeader: (name: string, value: string) => void headers.set(name.toLowerCase(), String(value)),
      end: () => resolve({ kind: 'redirect', url: headers.get('location') ?? '' }),
    };
    const callback = (error: unknown, user: unknown, info: unknown) => {
      if (error) resolve({ kind: 'error', error });
      else if (user) resolve({ kind: 'success', user, info });
      else resolve({ kind: 'fail', info });
    };
    passport.authenticate(strategy, { session: false }, callback)(request, response, (error: unknown) => resolve({ kind: 'error', error }));
  });
}

/**
 * runPassport for a strategy instance, without passport's middleware around it: the strategy is called
 * as the middleware calls it (on a copy of its own, given the five ways it may end), minus the
 * middleware's per-request set-up (req.login and its kin, the strategy chain and its closures), which
 * serves sessions: for a stateless strategy that runs on every request (the access token).
 */
export function runStrategy(strategy: passport.Strategy, request: object): Promise<PassportOutcome> {
  return new Promise((resolve) => {
    const ends: passport.StrategyCreatedStatic = {
      success: (user, info) => resolve({ kind: 'success', user, info }),
      // (passport takes a number as the status, not a challenge)
      fail: (challenge) => resolve({ kind: 'fail', info: typeof challenge === 'number' ? undefined : challenge }),
      redirect: (url) => resolve({ kind: 'redirect', url }),
      // (passport's middleware passes to the next one: an error without error, as runPassport answers)
      pass: () => resolve({ kind: 'error', error: undefined }),
      error: (error) => resolve({ kind: 'error', error }),
    };
    const attempt: passport.StrategyCreated<passport.Strategy> = Object.assign(Object.create(strategy) as passport.Strategy, ends);
    attempt.authenticate(request as Parameters<passport.Strategy['authenticate']>[0], {});
  });
}
