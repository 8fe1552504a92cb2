import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import Redis from 'ioredis';
import { IRateLimiterOptions, RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { Rate } from '../config/rate';
import { rateLimitConfig } from '../config/rate-limit.config';
import { Metrics } from '../metrics/metrics.service';

/** The outcome of counting one event against a limit. */
export interface Count {
  /** Events in the current window, this one included. */
  count: number;
  /** Over the limit: this event is refused. */
  exceeded: boolean;
  /** Until the window ends. */
  msBeforeNext: number;
}

/**
 * The counters behind every rate limit and the login lockout, kept by rate-limiter-flexible: in Redis
 * (USERS_REDIS_URL), where every replica counts together, each counter an atomic INCR with expiry in
 * one Lua call. While Redis cannot be reached, rate-limiter-flexible's insurance limiter counts in this
 * replica's memory instead: limits stay on, per replica (N replicas let N times as much through), and
 * become shared again as soon as Redis answers. Without USERS_REDIS_URL, memory only (a startup warning).
 * Also the @nestjs/throttler storage of the rate-limit guard.
 */
@Injectable()
export class RateLimitStore implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimits');
  private readonly redis?: Redis;
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  /** Whether the last decision went to Redis: the log says when that changes, once each way. */
  private shared = true;

  constructor(
    @Inject(rateLimitConfig.KEY) private readonly config: ConfigType<typeof rateLimitConfig>,
    private readonly metrics: Metrics,
  ) {
    if (!config.enabled) return;
    if (!config.redisUrl) {
      this.logger.warn('USERS_REDIS_URL is not set: rate limits and the login lockout count in this replica\'s memory, apart from any other replica');
      return;
    }
    this.redis = new Redis(config.redisUrl, {
      // A command while disconnected fails at once (the insurance limiter decides) instead of waiting in a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      // Reconnect for ever, at most a second apart: Redis coming back makes the limits shared again.
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    });
    this.metrics.rateLimitStoreUp.set(0);
    this.redis.on('ready', () => {
      this.metrics.rateLimitStoreUp.set(1);
      if (!this.shared) this.logger.log('Redis answers again: rate limits are shared by the replicas again');
      this.shared = true;
    });
    this.redis.on('close', () => this.metrics.rateLimitStoreUp.set(0));
    // ioredis reports each failed reconnection; the fallback is logged once, when a decision first needs it.
    this.redis.on('error', () => undefined);
  }

  /** A counter of `rate.count` events per `rate.windowMs`, named (the Redis key prefix) so that replicas share it. */
  limiter(name: string, rate: Rate): RateLimiterAbstract {
    const id = `${name}:${rate.count}/${rate.windowMs}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const options: IRateLimiterOptions = { keyPrefix: `${this.config.redisKeyPrefix}rl:${name}`, points: rate.count, duration: rate.windowMs / 1000 };
      const local = this.redis ? new LocalFallback(options, () => this.fellBack(name)) : new RateLimiterMemory(options);
      limiter = this.redis ? new RateLimiterRedis({ ...options, storeClient: this.redis, rejectIfRedisNotReady: true, insuranceLimiter: local }) : local;
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  /** Counts one event for `key`; atomic, so that of N concurrent events exactly the first `count` pass. */
  async hit(limiter: RateLimiterAbstract, key: string): Promise<Count> {
    try {
      const res = await limiter.consume(key);
      return { count: res.consumedPoints, exceeded: false, msBeforeNext: res.msBeforeNext };
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      return { count: rejection.consumedPoints, exceeded: true, msBeforeNext: rejection.msBeforeNext };
    }
  }

  /** Takes back one event counted for `key` (e.g. a login that turned out right). */
  async unhit(limiter: RateLimiterAbstract, key: string): Promise<void> {
    await limiter.reward(key).catch((error: unknown) => this.logger.warn({ err: error }, 'could not take back a counted event'));
  }

  /** For the throttler guard: ttl and blockDuration in milliseconds; the limit is over until the window ends. */
  async increment(key: string, ttl: number, limit: number, _blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const { count, exceeded, msBeforeNext } = await this.hit(this.limiter(throttlerName, { count: limit, windowMs: ttl }), key);
    const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return { totalHits: count, timeToExpire: seconds, isBlocked: exceeded, timeToBlockExpire: exceeded ? seconds : 0 };
  }

  private fellBack(name: string): void {
    this.metrics.rateLimitLocalDecisions.inc({ limit: name });
    if (!this.shared) return;
    this.shared = false;
    this.logger.warn('Redis cannot be reached: rate limits count in this replica\'s memory until it answers again');
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.redis) await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}

/** The insurance limiter: this replica's memory, used only while Redis fails; tells the store each time it decides. */
class LocalFallback extends RateLimiterMemory {
  constructor(
    options: IRateLimiterOptions,
    private readonly onUse: () => void,
  ) {
    super(options);
  }

  override consume(key: string | number, pointsToConsume?: number, options?: { [key: string]: unknown }): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(key, pointsToConsume, options);
  }
}
