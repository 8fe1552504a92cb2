import { loadDevelopmentEnvFile } from './config/env-file';
import { TracingConfig, tracingConfig } from './config/tracing.config';
import type * as StartTracing from './tracing/start-tracing';

/**
 * Tracing, imported by main.ts before Nest, Fastify and pg are loaded, so that the instrumentations
 * patch http and pg as they are required. Without USERS_OTEL_EXPORTER_URL nothing of the SDK is loaded
 * (OpenTelemetry's API stays its no-op). A bad value is not reported here: the configuration's
 * validation names it with every other bad variable and the service does not start.
 */
function configured(): TracingConfig | undefined {
  loadDevelopmentEnvFile();
  if (!process.env.USERS_OTEL_EXPORTER_URL?.trim()) return undefined;
  try {
    return tracingConfig();
  } catch {
    return undefined;
  }
}

const config = configured();
if (config?.exporterUrl) (require('./tracing/start-tracing') as typeof StartTracing).startTracing({ ...config, exporterUrl: config.exporterUrl });
