/**
 * Tracing on the built service (the SDK is set up before Nest, Fastify and pg load): an in-process
 * OTLP/HTTP receiver on loopback takes its exports. One registration makes one trace with the HTTP
 * server span, the PostgreSQL queries and the NATS publish of its event (which the relay sends later,
 * continuing the trace from the outbox); its log line names the trace; the published message carries
 * the trace context; a NATS API request continues its caller's trace. At USERS_TRACE_RATIO=0 nothing
 * is exported and no log line names a trace.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { JsMsg, NatsConnection, connect, headers as natsHeaders } from 'nats';
import { BuiltApp, startBuiltApp } from './support/built-app';
import { expectEventually } from './support/eventually';
import { MACHINE_NATS, deleteStream, isolatedStream, waitForStream } from './support/nats';
import { databaseEnv } from './support/postgres';
import { SECRET_KEY, createTestDatabase } from './support/test-app';
import { ExportedSpan, OtlpReceiver, SPAN_KIND } from './support/otlp-receiver';
import { newUserBody } from './support/users';

const attribute = (span: ExportedSpan, key: string) => Object.values(span.attributes?.find((a) => a.key === key)?.value ?? {})[0];

describe('tracing (OpenTelemetry over OTLP/HTTP, built app)', () => {
  const stream = isolatedStream();
  let nats: NatsConnection;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  const appEnv = (receiver: OtlpReceiver, ratio: string) => ({
    ...databaseEnv(database.name),
    ...stream.env(MACHINE_NATS),
    USERS_LOG_LEVEL: 'info',
    USERS_SECRET_KEY: SECRET_KEY,
    USERS_ADMIN_PASSWORD: 'tracing-test-admin-password',
    USERS_ALLOW_SELF_REGISTER: 'true',
    USERS_ALLOW_UNVERIFIED_USER: 'true',
    EMAIL_HOST: '',
    USERS_OTEL_EXPORTER_URL: receiver.url,
    USERS_TRACE_RATIO: ratio,
  });

  /** Registers a user under a request id of the test's; the id and that request's log line. */
  async function register(app: BuiltApp): Promise<{ userId: string; logLine: () => Record<string, unknown> | undefined }> {
    const requestId = randomUUID();
    const response = await fetch(`${app.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': requestId }, body: JSON.stringify(newUserBody()) });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const logLine = () =>
      app
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.reqId === requestId && line.msg === 'request completed');
    return { userId: id, logLine };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    nats = await connect({ servers: MACHINE_NATS });
  });

  afterAll(async () => {
    await deleteStream(nats, stream.stream);
    await nats?.close();
    await database?.drop();
  });

  it('one request: HTTP server, PostgreSQL and NATS publish spans in one trace, named by the request’s log line', async () => {
    const receiver = await new OtlpReceiver().start();
    const app = await startBuiltApp(appEnv(receiver, '1'));
    try {
      const { userId, logLine } = await register(app);
      await expectEventually(() => expect(logLine()).toHaveProperty('trace_id'));
      const traceId = logLine()!.trace_id as string;
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);

      // Spans are exported in batches: wait until the trace has all three kinds.
      const trace = () => receiver.spans.filter((span) => span.traceId === traceId);
      await expectEventually(() => {
        expect(trace().filter((span) => span.kind === SPAN_KIND.SERVER && attribute(span, 'http.request.method') === 'POST')).toHaveLength(1);
        expect(trace().filter((span) => attribute(span, 'db.system.name') === 'postgresql' || attribute(span, 'db.system') === 'postgresql').length).toBeGreaterThan(0);
        expect(trace().filter((span) => span.kind === SPAN_KIND.PRODUCER && span.name === `send ${stream.prefix}.user.create`)).toHaveLength(1);
      }, 60_000);
      const [server] = trace().filter((span) => span.kind === SPAN_KIND.SERVER);
      expect(logLine()!.span_id).toBe(server.spanId);
      expect(server.name).toBe('POST /users');
      expect(attribute(server, 'http.route')).toBe('/users');
      const [publish] = trace().filter((span) => span.kind === SPAN_KIND.PRODUCER);
      expect(attribute(publish, 'messaging.system')).toBe('nats');
      // Probes are not traced.
      expect(receiver.spans.filter((span) => /\/health/.test(String(attribute(span, 'url.path') ?? '')))).toEqual([]);

      // The published event carries the publish span's trace context, for its consumers to continue.
      await waitForStream(nats, stream.stream, (messages) => messages.some((m) => m.payload.user_id === userId));
      const consumer = await nats.jetstream().consumers.get(stream.stream);
      let traceparent: string | undefined;
      for await (const message of (await consumer.consume()) as AsyncIterable<JsMsg>) {
        if ((JSON.parse(new TextDecoder().decode(message.data)) as { user_id?: string }).user_id !== userId) continue;
        traceparent = message.headers?.get('traceparent');
        break;
      }
      expect(traceparent).toBe(`00-${traceId}-${publish.spanId}-01`);
      expect([...receiver.contentTypes]).toEqual(['application/json']);

      // A NATS API request with a caller's traceparent: handled in a span of the caller's trace, with its queries.
      const caller = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
      const requestHeaders = natsHeaders();
      requestHeaders.set('traceparent', `00-${caller.traceId}-${caller.spanId}-01`);
      const reply = await nats.request(stream.api('get'), JSON.stringify({ id: userId }), { timeout: 10_000, headers: requestHeaders });
      expect(JSON.parse(new TextDecoder().decode(reply.data))).toMatchObject({ id: userId });
      const callerTrace = () => receiver.spans.filter((span) => span.traceId === caller.traceId);
      await expectEventually(() => {
        expect(callerTrace().filter((span) => span.kind === SPAN_KIND.SERVER && span.name === `process ${stream.api('get')}` && span.parentSpanId === caller.spanId)).toHaveLength(1);
        expect(callerTrace().filter((span) => attribute(span, 'db.system.name') === 'postgresql' || attribute(span, 'db.system') === 'postgresql').length).toBeGreaterThan(0);
      }, 60_000);
    } finally {
      await app.stop();
      await receiver.stop();
    }
  });

  it('USERS_TRACE_RATIO=0: no span is exported (also none flushed at shutdown) and no log line names a trace', async () => {
    const receiver = await new OtlpReceiver().start();
    const app = await startBuiltApp(appEnv(receiver, '0'));
    let logLine: () => Record<string, unknown> | undefined = () => undefined;
    try {
      let userId = '';
      ({ userId, logLine } = await register(app));
      await expectEventually(() => expect(logLine()).toBeDefined());
      await waitForStream(nats, stream.stream, (messages) => messages.some((m) => m.payload.user_id === userId));
    } finally {
      // A clean stop exports whatever the batch still holds: after it, nothing can come.
      await app.stop();
      await receiver.stop();
    }
    expect(app.process.exitCode).toBe(0);
    expect(receiver.spans).toEqual([]);
    expect(logLine()).not.toHaveProperty('trace_id');
  });
});
