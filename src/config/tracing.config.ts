import { registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsNumber, IsOptional, IsUrl, Max, Min } from 'class-validator';
import { URL_OPTIONS } from './public-url';
import { validateConfig } from './validate-config';

const RATIO_MESSAGE = 'USERS_TRACE_RATIO must be a number from 0 to 1 (the share of traces kept)';

class TracingEnv {
  /** The OTLP/HTTP traces endpoint (Jaeger, an OpenTelemetry Collector). Unset: no tracing, nothing of it loaded. */
  @IsOptional()
  @IsUrl(URL_OPTIONS, { message: 'USERS_OTEL_EXPORTER_URL must be an http(s) URL, e.g. http://jaeger:4318/v1/traces' })
  USERS_OTEL_EXPORTER_URL?: string;

  /** The share of traces started here that are recorded and exported; a caller's sampled traceparent is followed. */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value))
  @IsNumber({}, { message: RATIO_MESSAGE })
  @Min(0, { message: RATIO_MESSAGE })
  @Max(1, { message: RATIO_MESSAGE })
  USERS_TRACE_RATIO = 1;
}

export const tracingConfig = registerAs('tracing', () => {
  const env = validateConfig(process.env, TracingEnv);
  return { exporterUrl: env.USERS_OTEL_EXPORTER_URL, ratio: env.USERS_TRACE_RATIO };
});

export type TracingConfig = ReturnType<typeof tracingConfig>;
