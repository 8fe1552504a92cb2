import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { QueryRunner } from 'typeorm';
import { SYSTEM_AUDIT } from '../common/decorators/audit.decorator';
import { schedulerConfig } from '../config/scheduler.config';
import { EventsService } from '../events/events.service';

const BATCH_SIZE = 100;

export interface PurgeReport {
  purged: number;
  failed: number;
}

/**
 * Purges users whose status has been `deleted` for at least USERS_DELETE_AFTER: the row goes, and its
 * refresh and link tokens with it (ON DELETE CASCADE), with a user.purge event each. Batches walk
 * the candidates in (deleted_at, id) order, each user in a savepoint of its own, and never come back
 * to one that failed in the same run: a user that cannot be purged is logged and skipped, and the
 * next run tries it again. So the loop can neither spin nor stall behind it.
 */
@Injectable()
export class PurgeService {
  private readonly logger = new Logger(PurgeService.name);

  constructor(
    private readonly events: EventsService,
    @Inject(schedulerConfig.KEY) private readonly scheduler: ConfigType<typeof schedulerConfig>,
  ) {}

  async purgeDeletedUsers(runner: QueryRunner): Promise<PurgeReport> {
    const report: PurgeReport = { purged: 0, failed: 0 };
    // The keyset of the last batch's last user. deleted_at stays PostgreSQL's text: a JS Date would drop
    // its microseconds, and the next batch would take that user (and any failed one at the same moment) again.
    let after: { deletedAt: string; id: string } | undefined;
    for (;;) {
      await runner.startTransaction();
      try {
        const batch: { id: string; deleted_at: string }[] = await runner.query(
          `SELECT id, deleted_at::text FROM users
           WHERE status = 'deleted' AND deleted_at <= now() - $1 * interval '1 millisecond'
             AND ($2::timestamptz IS NULL OR (deleted_at, id) > ($2, $3::uuid))
           ORDER BY deleted_at, id LIMIT $4
           FOR UPDATE SKIP LOCKED`,
          [this.scheduler.deleteAfterMs, after?.deletedAt ?? null, after?.id ?? null, BATCH_SIZE],
        );
        for (const user of batch) {
          if (await this.purgeOne(runner, user.id)) report.purged++;
          else report.failed++;
        }
        await runner.commitTransaction();
        if (batch.length < BATCH_SIZE) break;
        const last = batch[batch.length - 1];
        after = { deletedAt: last.deleted_at, id: last.id };
      } catch (error) {
        await runner.rollbackTransaction();
        throw error;
      }
    }
    if (report.purged || report.failed) this.logger.log(`purged ${report.purged} deleted users (${report.failed} failed)`);
    return report;
  }

  private async purgeOne(runner: QueryRunner, id: string): Promise<boolean> {
    await runner.query('SAVEPOINT purge_user');
    try {
      const deleted = await runner.query(`DELETE FROM users WHERE id = $1 AND status = 'deleted'`, [id], true);
      const purged = (deleted.affected ?? 0) > 0;
      if (purged) await this.events.record(runner.manager, { operation: 'user.purge', userId: id, audit: SYSTEM_AUDIT, data: {} });
      await runner.query('RELEASE SAVEPOINT purge_user');
      return purged;
    } catch (error) {
      await runner.query('ROLLBACK TO SAVEPOINT purge_user');
      this.logger.warn({ err: error, userId: id }, 'could not purge a deleted user; the next run tries again');
      return false;
    }
  }
}
