import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, InjectThrottlerStorage, ThrottlerGuard, ThrottlerLimitDetail, ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import { AppError } from '../common/errors/app-error';
import { RateLimitName, rateLimitConfig } from '../config/rate-limit.config';
import { Metrics } from '../metrics/metrics.service';

export const RATE_LIMITS = 'rate-limit:names';

/** The request as a limit chooser sees it (after body parsing, before validation). */
export interface ChoosingRequest {
  query?: Record<string, unknown>;
  body?: unknown;
}

/** The limits of one request, for a route whose operation depends on the request (GoTrue's POST /token and its grant_type). */
export type LimitChooser = (request: ChoosingRequest) => RateLimitName[];

/** The limits a request is under (@RateLimit, @RateLimitPer), none for any other route. */
export function routeLimits(context: ExecutionContext): RateLimitName[] {
  const limits = Reflect.getMetadata(RATE_LIMITS, context.getHandler()) as RateLimitName[] | LimitChooser | undefined;
  return typeof limits === 'function' ? limits(context.switchToHttp().getRequest<ChoosingRequest>()) : (limits ?? []);
}

/**
 * A refusal by a rate limit: our 429 RATE_LIMITED with Retry-After, saying which limit (an adapter API may
 * answer each in its own terms): a RateLimitName, or a counter of a service's own (MfaService's mfa-verify).
 */
export class RateLimitedError extends AppError {
  constructor(
    readonly limit: string,
    waitMs: number,
  ) {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    super('RATE_LIMITED', `rate limit reached; retry in ${seconds} s`);
    this.retryAfterSeconds = seconds;
  }
}

/**
 * @nestjs/throttler's guard with our answers: the limits are the named throttlers of RateLimitModule,
 * each applied only to the routes that name it (@RateLimit), counted per limit and tracker (not per
 * route), and a refusal is our 429 RATE_LIMITED body with Retry-After.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(rateLimitConfig.KEY) private readonly config: ConfigType<typeof rateLimitConfig>,
    private readonly metrics: Metrics,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return !this.config.enabled || routeLimits(context).length === 0;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const limit = detail.key.slice(0, detail.key.indexOf(':')) as RateLimitName;
    this.metrics.rateLimited.inc({ limit });
    throw new RateLimitedError(limit, detail.timeToBlockExpire * 1000);
  }
}
