import { registerAs } from '@nestjs/config';
import { IsOptional } from 'class-validator';
import { IsIntegerBetween, validateConfig } from './validate-config';

class MetricsEnv {
  /** Unset: GET /metrics on the public port. Set: only on this port (same host), e.g. for a cluster-internal scrape. */
  @IsOptional()
  @IsIntegerBetween(1, 65535)
  USERS_METRICS_PORT?: number;
}

export const metricsConfig = registerAs('metrics', () => {
  const env = validateConfig(process.env, MetricsEnv);
  return { port: env.USERS_METRICS_PORT };
});

export type MetricsConfig = ReturnType<typeof metricsConfig>;
