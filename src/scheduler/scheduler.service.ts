import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { schedulerConfig } from '../config/scheduler.config';
import { CleanupService } from './cleanup.service';
import { PurgeService } from './purge.service';
import { ScheduledJob } from './scheduled-job';

/** The advisory lock keys of the jobs: one replica at a time runs each. */
const PURGE_LOCK = 7_243_201;
const CLEANUP_LOCK = 7_243_202;

/**
 * Registers the jobs with @nestjs/schedule at their configured intervals (USERS_DELETE_INTERVAL,
 * USERS_CLEANUP_INTERVAL). Jobs only call services; each runs under its own advisory lock.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap {
  readonly purge: ScheduledJob;
  readonly cleanup: ScheduledJob;

  constructor(
    private readonly registry: SchedulerRegistry,
    dataSource: DataSource,
    purge: PurgeService,
    cleanup: CleanupService,
    @Inject(schedulerConfig.KEY) private readonly scheduler: ConfigType<typeof schedulerConfig>,
  ) {
    this.purge = new ScheduledJob('purge-deleted-users', PURGE_LOCK, dataSource, async (runner) => void (await purge.purgeDeletedUsers(runner)));
    this.cleanup = new ScheduledJob('cleanup', CLEANUP_LOCK, dataSource, async (runner) => void (await cleanup.clean(runner)));
  }

  onApplicationBootstrap(): void {
    for (const [job, everyMs] of [
      [this.purge, this.scheduler.deleteIntervalMs],
      [this.cleanup, this.scheduler.cleanupIntervalMs],
    ] as const) {
      // setInterval with a delay above 2^31-1 ms (~24.8 days) fires at once: cap it.
      this.registry.addInterval(job.name, setInterval(() => void job.run(), Math.min(everyMs, 2 ** 31 - 1)));
    }
  }
}
