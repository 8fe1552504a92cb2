import { registerAs } from '@nestjs/config';
import { IsDuration, durationMs, validateConfig } from './validate-config';

class SchedulerEnv {
  /** How often deleted users are looked for. */
  @IsDuration()
  USERS_DELETE_INTERVAL = '24h';

  /** How long a user stays `deleted` (and can be enabled again) before being purged for good. */
  @IsDuration({ zeroMeans: 'purged at the next run' })
  USERS_DELETE_AFTER = '720h';

  /** How often expired tokens and old sent events and mails are cleaned up. */
  @IsDuration()
  USERS_CLEANUP_INTERVAL = '1h';

  /** How long sent events and mails are kept (for inspection) before the cleanup removes them. */
  @IsDuration({ zeroMeans: 'removed at the next cleanup' })
  USERS_OUTBOX_RETENTION = '24h';
}

export const schedulerConfig = registerAs('scheduler', () => {
  const env = validateConfig(process.env, SchedulerEnv);
  return {
    deleteIntervalMs: durationMs(env.USERS_DELETE_INTERVAL),
    deleteAfterMs: durationMs(env.USERS_DELETE_AFTER),
    cleanupIntervalMs: durationMs(env.USERS_CLEANUP_INTERVAL),
    outboxRetentionMs: durationMs(env.USERS_OUTBOX_RETENTION),
  };
});

export type SchedulerConfig = ReturnType<typeof schedulerConfig>;
