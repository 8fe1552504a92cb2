import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { Public } from '../common/decorators/auth.decorators';
import { AppError } from '../common/errors/app-error';
import { metricsConfig } from '../config/metrics.config';
import { Metrics } from './metrics.service';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

@ApiTags('health')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    @Inject(metricsConfig.KEY) private readonly config: ConfigType<typeof metricsConfig>,
  ) {}

  /**
   * Prometheus metrics
   *
   * @remarks HTTP durations by route, logins and refreshes by result, mail deliveries, the outbox and mail
   * backlogs, the database pool, process and event-loop figures. 404 when USERS_METRICS_PORT moves
   * them to a port of their own.
   */
  @Get()
  @Header('Content-Type', PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({ description: 'Prometheus text exposition format', content: { [PROMETHEUS_CONTENT_TYPE]: { schema: { type: 'string' } } } })
  @ApiErrors('ROUTE_NOT_FOUND')
  getMetrics(): Promise<string> {
    if (this.config.port !== undefined) throw new AppError('ROUTE_NOT_FOUND');
    return this.metrics.render();
  }
}
