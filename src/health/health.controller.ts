import { Controller, Get, Header, Inject, Logger, Res, ServiceUnavailableException } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { FastifyReply } from 'fastify';
import { version } from '../../package.json';
import { appConfig } from '../config/app.config';
import { Public } from '../common/decorators/auth.decorators';
import { GracefulShutdown } from '../shutdown/graceful-shutdown.service';
import { DependenciesHealth, DependencyReport } from './dependencies.health';
import { HealthInfoDto } from './health-info.dto';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger(HealthController.name);
  /** The last answer of the readiness probe, so that a change is logged once, not every failed probe. */
  private wasReady = true;

  constructor(
    private readonly checks: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly dependencies: DependenciesHealth,
    private readonly shutdown: GracefulShutdown,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  /**
   * Service information
   *
   * @remarks Version, commit, build time and instance id, in SuperMQ's health shape.
   */
  @Get()
  @Header('Content-Type', 'application/health+json')
  @ApiOkResponse({ type: HealthInfoDto, content: { 'application/health+json': { schema: { $ref: '#/components/schemas/HealthInfoDto' } } } })
  health(): HealthInfoDto {
    return {
      status: 'pass',
      version,
      commit: this.app.commit,
      description: 'users service',
      build_time: this.app.buildTime,
      instance_id: this.app.instanceId,
    };
  }

  /**
   * Liveness probe
   *
   * @remarks 200 while the process answers; it checks nothing else, so that a database outage does not
   * get the pod restarted.
   */
  @Get('live')
  @HealthCheck()
  checkLiveness(): Promise<HealthCheckResult> {
    return this.checks.check([]);
  }

  /**
   * Readiness probe
   *
   * @remarks 503 when PostgreSQL does not answer, and from SIGTERM on (`shutdown`: the service still
   * serves while load balancers take it out). NATS (when configured), SMTP, and the backlogs of unsent
   * events and mails are reported in `details` without failing it: events and mails wait in their
   * tables while those are down, and HTTP keeps working.
   */
  @Get('ready')
  @HealthCheck()
  async checkReadiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<Omit<HealthCheckResult, 'details'> & { details: HealthCheckResult['details'] | DependencyReport }> {
    const [database, dependencies] = await Promise.all([this.databaseCheck(), this.dependencies.report()]);
    this.noteChange(database.status === 'ok', database);
    const result = this.shutdown.draining ? shuttingDown(database) : database;
    if (result.status !== 'ok') reply.status(503);
    return { ...result, details: { ...result.details, ...dependencies } };
  }

  private async databaseCheck(): Promise<HealthCheckResult> {
    try {
      return await this.checks.check([() => this.database.pingCheck('database', { timeout: 1000 })]);
    } catch (error) {
      // Terminus reports the failing check in the 503's body: keep its shape for probes and dashboards.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      return error.getResponse() as HealthCheckResult;
    }
  }

  /** One line when readiness changes (probes themselves log at debug level only). */
  private noteChange(ready: boolean, result: HealthCheckResult): void {
    if (ready === this.wasReady) return;
    this.wasReady = ready;
    if (ready) this.logger.log('ready again: PostgreSQL answers');
    else this.logger.warn({ database: result.error?.database ?? result.details.database }, 'not ready: PostgreSQL does not answer');
  }
}

/** The readiness result once SIGTERM arrived: terminus' shape, with a failing `shutdown` check. */
function shuttingDown(result: HealthCheckResult): HealthCheckResult {
  const shutdown = { status: 'down' as const, message: 'shutting down' };
  return { status: 'error', info: result.info, error: { ...result.error, shutdown }, details: { ...result.details, shutdown } };
}
