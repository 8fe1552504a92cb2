import { Controller, Get, Header, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { FastifyReply } from 'fastify';
import { version } from '../../package.json';
import { appConfig } from '../config/app.config';
import { Public } from '../common/decorators/auth.decorators';
import { EventsHealthIndicator } from './events.health';
import { HealthInfoDto } from './health-info.dto';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly events: EventsHealthIndicator,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  /** Service information (SuperMQ's health shape) */
  @Get()
  @Header('Content-Type', 'application/health+json')
  @ApiOkResponse({ type: HealthInfoDto, content: { 'application/health+json': { schema: { $ref: '#/components/schemas/HealthInfoDto' } } } })
  info(): HealthInfoDto {
    return {
      status: 'pass',
      version,
      commit: this.app.commit,
      description: 'users service',
      build_time: this.app.buildTime,
      instance_id: this.app.instanceId,
    };
  }

  /** Liveness: the process answers */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Readiness: PostgreSQL and (when configured) NATS answer, 503 when one does not; reports the outbox backlog */
  @Get('ready')
  @HealthCheck()
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.database.pingCheck('database', { timeout: 1000 }),
        ...(this.events.enabled ? [() => this.events.nats()] : []),
        () => this.events.outbox(),
      ]);
    } catch (error) {
      // Terminus reports the failing checks in the 503's body: keep its shape for probes and dashboards.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      reply.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
