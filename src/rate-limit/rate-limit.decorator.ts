import { SetMetadata, UseGuards, applyDecorators } from '@nestjs/common';
import { RateLimitName } from '../config/rate-limit.config';
import { LimitChooser, RATE_LIMITS, RateLimitGuard } from './rate-limit.guard';

/**
 * Puts a route under the named limits (USERS_RATE_LIMIT_<NAME>): over one, 429 RATE_LIMITED with
 * Retry-After (the route lists RATE_LIMITED in its @ApiErrors). A limit counts every route it is put on together
 * (the refresh limit counts POST /users/tokens/refresh and POST /oauth/session/refresh as one), so an
 * adapter route over the same service takes the same decorator. The guard runs after the global auth
 * guard, so the caller is known (anonymous-only limits, per-account keys).
 */
export function RateLimit(...names: RateLimitName[]) {
  return applyDecorators(SetMetadata(RATE_LIMITS, names), UseGuards(RateLimitGuard));
}

/**
 * @RateLimit for a route that serves several operations, each under the limits of its own native
 * twin: `choose` names them from the request (e.g. GoTrue's POST /token by its grant_type).
 */
export function RateLimitPer(choose: LimitChooser) {
  return applyDecorators(SetMetadata(RATE_LIMITS, choose), UseGuards(RateLimitGuard));
}
