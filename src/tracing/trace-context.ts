import { Context, ROOT_CONTEXT, SpanKind, SpanOptions, SpanStatusCode, TraceFlags, context, propagation, trace } from '@opentelemetry/api';

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

/** The W3C `traceparent` of the current span (null without one; it also says whether it is sampled): kept with an outbox row so that its publishing joins the trace. */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** The context a stored `traceparent` continues (the root context without one). */
function continued(traceparent: string | null): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/** `work` in an active span continuing `parent`; a failure is recorded on the span, which ends with the work. */
function inSpan<T>(name: string, options: SpanOptions, parent: Context, work: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * `publish` inside a producer span `send <subject>` that continues `traceparent`, with `headers` given
 * the span's trace context (the W3C `traceparent` a consumer continues).
 */
export function inPublishSpan<T>(
  subject: string,
  messageId: string,
  traceparent: string | null,
  headers: { set(name: string, value: string): void },
  publish: () => Promise<T>,
): Promise<T> {
  const attributes = { 'messaging.system': 'nats', 'messaging.operation.type': 'send', 'messaging.destination.name': subject, 'messaging.message.id': messageId };
  return inSpan(`send ${subject}`, { kind: SpanKind.PRODUCER, attributes }, continued(traceparent), () => {
    propagation.inject(context.active(), headers, { set: (carrier, name, value) => carrier.set(name, value) });
    return publish();
  });
}

/** The HTTP server span named after the route it matched (`POST /users/:id`), as tracing UIs group them; `route` is undefined for a 404. */
export function nameRequestSpan(method: string, route: string | undefined): void {
  if (!route) return;
  trace.getActiveSpan()?.updateName(`${method} ${route}`).setAttribute('http.route', route);
}

/** `handle` (a NATS API request) inside a server span `process <subject>` continuing the caller's `traceparent` header, if it sent one. */
export function inRequestSpan<T>(subject: string, headers: { get(name: string): string } | undefined, handle: () => Promise<T>): Promise<T> {
  const attributes = { 'messaging.system': 'nats', 'messaging.operation.type': 'process', 'messaging.destination.name': subject };
  return inSpan(`process ${subject}`, { kind: SpanKind.SERVER, attributes }, continued(headers?.get('traceparent') || null), handle);
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
