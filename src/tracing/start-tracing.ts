import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { PROBE_PATH } from '../common/logging/probe-path';
import { TracingConfig } from '../config/tracing.config';
import { onTracingShutdown } from './trace-context';

/**
 * The OpenTelemetry SDK: spans of incoming HTTP requests (not of probes) and PostgreSQL queries, and
 * those the service makes itself (NATS publishing), sampled at USERS_TRACE_RATIO — a caller's sampling
 * decision in its `traceparent` is followed — and exported in batches over OTLP/HTTP.
 */
export function startTracing(config: Required<TracingConfig>): void {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'users', [ATTR_SERVICE_VERSION]: process.env.USERS_BUILD_COMMIT ?? 'development' }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.ratio) }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.exporterUrl }))],
  });
  // The global tracer provider, with AsyncLocalStorage for the active span and W3C trace context.
  provider.register();
  registerInstrumentations({
    instrumentations: [new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => PROBE_PATH.test(request.url ?? '') }), new PgInstrumentation()],
  });
  onTracingShutdown(() => provider.shutdown());
}
