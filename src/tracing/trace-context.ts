import { Context, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, propagation, trace } from '@opentelemetry/api';

/**
 * What the service does with traces, through OpenTelemetry's API only: without USERS_OTEL_EXPORTER_URL
 * no SDK is registered and every call here is the API's no-op (no span, no header, no field).
 */
const tracer = trace.getTracer('users-service');

/** The sampled span a log line is written in, as `trace_id`/`span_id` (pino's mixin): the line leads to the trace. */
export function traceLogFields(): Record<string, string> {
  const span = trace.getActiveSpan()?.spanContext();
  if (!span || !(span.traceFlags & TraceFlags.SAMPLED)) return {};
  return { trace_id: span.traceId, span_id: span.spanId };
}

/** The W3C `traceparent` of the current span (null when none is sampled): kept with an outbox row so that its publishing joins the trace. */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** The context a stored `traceparent` continues (the root context without one). */
function continued(traceparent: string | null): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/**
 * `publish` inside a producer span `send <subject>` that continues `traceparent`, with `headers` given
 * the span's trace context (the W3C `traceparent` a consumer continues); a failure is recorded on the span.
 */
export async function inPublishSpan<T>(
  subject: string,
  messageId: string,
  traceparent: string | null,
  headers: { set(name: string, value: string): void },
  publish: () => Promise<T>,
): Promise<T> {
  const attributes = { 'messaging.system': 'nats', 'messaging.operation.type': 'send', 'messaging.destination.name': subject, 'messaging.message.id': messageId };
  return tracer.startActiveSpan(`send ${subject}`, { kind: SpanKind.PRODUCER, attributes }, continued(traceparent), async (span) => {
    propagation.inject(context.active(), headers, { set: (carrier, name, value) => carrier.set(name, value) });
    try {
      return await publish();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

let shutdown: (() => Promise<void>) | undefined;

/** Set by startTracing: how to export what is left at shutdown. */
export function onTracingShutdown(flush: () => Promise<void>): void {
  shutdown = flush;
}

/** Exports the spans still buffered (the last requests' traces); nothing without tracing. */
export async function stopTracing(): Promise<void> {
  await shutdown?.();
}
