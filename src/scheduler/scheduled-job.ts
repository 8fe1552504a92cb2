import { Logger } from '@nestjs/common';
import { DataSource, QueryRunner } from 'typeorm';
import { logFailure } from '../common/database/database-unavailable';

/**
 * Runs a job on one connection under a PostgreSQL session advisory lock, so that one replica at a
 * time runs it: the others find the lock taken and skip this round. The job gets the connection
 * for its own transactions (PGlite has no other). A job that is still running when its next round
 * comes is not started twice.
 */
export class ScheduledJob {
  private running = false;

  constructor(
    readonly name: string,
    private readonly lockKey: number,
    private readonly dataSource: DataSource,
    private readonly job: (runner: QueryRunner) => Promise<void>,
    private readonly logger = new Logger(name),
  ) {}

  /** Runs the job unless it is running here or elsewhere; true when it ran. */
  async run(): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    const runner = this.dataSource.createQueryRunner();
    try {
      const [{ locked }]: { locked: boolean }[] = await runner.query(`SELECT pg_try_advisory_lock($1) AS locked`, [this.lockKey]);
      if (!locked) return false;
      try {
        await this.job(runner);
        return true;
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [this.lockKey]);
      }
    } catch (error) {
      logFailure(this.logger, error, `${this.name} failed`);
      return false;
    } finally {
      await runner.release();
      this.running = false;
    }
  }
}
