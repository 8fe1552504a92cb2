import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, InjectThrottlerStorage, ThrottlerGuard, ThrottlerLimitDetail, ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import { AppError } from '../common/errors/app-error';
import { RateLimitName, rateLimitConfig } from '../config/rate-limit.config';
import { Metrics } from '../metrics/metrics.service';

export const RATE_LIMITS = 'rate-limit:names';

/** The limits a route is under (@RateLimit), none for any other. */
export function routeLimits(context: ExecutionContext): RateLimitName[] {
  return (Reflect.getMetadata(RATE_LIMITS, context.getHandler()) as RateLimitName[] | undefined) ?? [];
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
    this.metrics.rateLimited.inc({ limit: detail.key.slice(0, detail.key.indexOf(':')) });
    throw AppError.rateLimited(detail.timeToBlockExpire * 1000);
  }
}
