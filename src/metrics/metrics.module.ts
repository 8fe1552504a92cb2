import { Global, Module } from '@nestjs/common';
import { BacklogsService } from './backlogs.service';
import { MetricsController } from './metrics.controller';
import { MetricsServer } from './metrics-server.service';
import { Metrics } from './metrics.service';

/** Prometheus metrics (GET /metrics, or USERS_METRICS_PORT); global, so that any module counts what it does. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [Metrics, BacklogsService, MetricsServer],
  exports: [Metrics, BacklogsService],
})
export class MetricsModule {}
