import { Server, createServer } from 'node:http';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { appConfig } from '../config/app.config';
import { metricsConfig } from '../config/metrics.config';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.controller';
import { Metrics } from './metrics.service';

/**
 * With USERS_METRICS_PORT set: GET /metrics on that port only (same host as the API), e.g. a port that
 * a NetworkPolicy opens to Prometheus alone. It stays up until the application has closed.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private server?: Server;

  constructor(
    private readonly metrics: Metrics,
    @Inject(metricsConfig.KEY) private readonly config: ConfigType<typeof metricsConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.port === undefined) return;
    const server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      this.metrics.render().then(
        (text) => response.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE }).end(text),
        (error: unknown) => {
          this.logger.error({ err: error }, 'metrics could not be rendered');
          response.writeHead(500).end();
        },
      );
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.config.port, this.app.host, resolve));
    this.server = server;
    this.logger.log(`metrics on http://${this.app.host}:${this.config.port}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise((resolve) => (this.server ? this.server.close(resolve).closeAllConnections() : resolve(undefined)));
  }
}
