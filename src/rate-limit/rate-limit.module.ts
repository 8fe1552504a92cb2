import { ExecutionContext, Global, Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { ThrottlerModule, ThrottlerModuleOptions } from '@nestjs/throttler';
import { RateLimitName, rateLimitConfig } from '../config/rate-limit.config';
import { LoginLockout } from './login-lockout.service';
import { RateLimitGuard, routeLimits } from './rate-limit.guard';
import { RateLimitStore } from './rate-limit-store.service';

interface LimitedRequest {
  user?: { email: string; role: string };
  body?: { email?: unknown };
}

/**
 * The address a mail-sending request mails: the body's (an anonymous reset request, an admin's
 * invitation), or the caller's own (verification: a user mails only themselves, whatever the body says).
 */
function recipient(request: LimitedRequest): string | undefined {
  const { user, body } = request;
  const address = user && user.role !== 'admin' ? user.email : (body?.email ?? user?.email);
  return typeof address === 'string' && address.trim() !== '' ? address.trim().toLowerCase() : undefined;
}

const request = (context: ExecutionContext) => context.switchToHttp().getRequest<LimitedRequest>();

/** Per client IP (@nestjs/throttler's tracker: request.ip, which honours USERS_TRUSTED_PROXIES; IPv6 by /64), except where said. */
function throttlers(config: ConfigType<typeof rateLimitConfig>): ThrottlerModuleOptions {
  const applies = (name: RateLimitName, context: ExecutionContext) => routeLimits(context).includes(name);
  return {
    setHeaders: false,
    throttlers: Object.entries(config.limits).map(([name, rate]) => ({
      name,
      limit: rate.count,
      ttl: rate.windowMs,
      skipIf: (context: ExecutionContext) =>
        !applies(name as RateLimitName, context) ||
        // Registrations by an authenticated admin are not sign-ups.
        (name === 'signup' && request(context).user !== undefined) ||
        // No address: the request fails validation, and must not count against anyone's.
        (name === 'email-account' && recipient(request(context)) === undefined),
      ...(name === 'email-account' ? { getTracker: (req: LimitedRequest) => recipient(req) as string } : {}),
    })),
  };
}

/**
 * Rate limits (@RateLimit on a route, through @nestjs/throttler) and the login lockout, both counted
 * by RateLimitStore: in Redis across replicas, in memory when Redis is unset or down.
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [rateLimitConfig.KEY, RateLimitStore],
      useFactory: (config: ConfigType<typeof rateLimitConfig>, store: RateLimitStore) => ({ ...throttlers(config), storage: store }),
    }),
  ],
  providers: [RateLimitStore, RateLimitGuard, LoginLockout],
  exports: [RateLimitStore, RateLimitGuard, LoginLockout],
})
export class RateLimitModule {}
