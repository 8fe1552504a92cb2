import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, STATUS_CODES, ServerResponse } from 'node:http';
import cors from 'cors';
import helmet from 'helmet';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Socket } from 'node:net';
import { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, LogController } from 'fastify';
import { Logger } from 'nestjs-pino';
import { version } from '../package.json';
import { AppModule } from './app.module';
import { AppError } from './common/errors/app-error';
import { ERRORS, ErrorCode } from './common/errors/error-codes';
import { httpErrorBody } from './common/filters/all-exceptions.filter';
import { JSON_MAX_DEPTH, nestsDeeperThan } from './common/validation/validators';
import { logRequest, nestBootLogger, requestId, rootLogger } from './common/logging/logger';
import { appConfig } from './config/app.config';
import { LoadedConfiguration, loadConfiguration } from './config/config-module.options';
import { eventsConfig } from './config/events.config';
import { gotrueConfig } from './config/gotrue.config';
import { oauthConfig } from './config/oauth.config';
import { natsFailure } from './events/nats-client';
import { natsApiOptions } from './events/nats-transport';
import { acceptGoTrueTokenForms } from './gotrue/form-body';
import { GoTrueModule } from './gotrue/gotrue.module';
import { SWAGGER_UI_OPTIONS, buildOpenApiDocument } from './openapi-document';
import { nameRequestSpan } from './tracing/trace-context';

/**
 * Builds the application exactly as production runs it — adapter, body parsing, security headers,
 * logger, OpenAPI — so that main.ts, the e2e tests and the OpenAPI export share one pipeline.
 * `preview` builds the module graph without instantiating providers (no database), for the export.
 */
export async function createApp({ preview = false } = {}): Promise<NestFastifyApplication> {
  const configuration = preview ? undefined : loadConfiguration();
  const { tls, logLevel, bodyLimitBytes, publicUrl, trustedProxies } = preview ? { tls: undefined, logLevel: 'warn', bodyLimitBytes: undefined, publicUrl: undefined, trustedProxies: [] } : appConfig();
  if (configuration) logStart(rootLogger(logLevel), configuration);
  const adapter = new FastifyAdapter({
    bodyLimit: bodyLimitBytes,
    loggerInstance: rootLogger(logLevel),
    // Requests are logged once each, by our onResponse hook (logRequest).
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    // request.ip (rate limits, logs) comes from X-Forwarded-For only when the connection is from one of these proxies.
    trustProxy: trustedProxies.length > 0 ? trustedProxies : false,
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // Node would answer an HTTP/1.1 request without Host itself (an empty 400); the first hook answers it with our body.
    http: { requireHostHeader: false },
    ...(tls ? { https: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), requireHostHeader: false } } : {}),
  });
  acceptOnlyJson(adapter.getInstance());
  const { prefix: gotruePrefix } = gotrueConfig();
  if (gotruePrefix !== undefined) acceptGoTrueTokenForms(adapter.getInstance(), gotruePrefix);
  if (!preview) allowUiOrigins(adapter.getInstance(), oauthConfig().allowedOrigins);
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    reply.headers(ANSWER_HEADERS).header('x-request-id', request.id);
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return void reply.code(400).send(httpErrorBody({ statusCode: 400, code: 'BAD_REQUEST', message: 'the Host header is required' }));
    }
    nameRequestSpan(request.method, request.routeOptions.url);
    done();
  });
  adapter.getInstance().addHook('onResponse', logRequest);
  // The GoTrue API is mounted (or not) by the configuration: a module of its own under its prefix.
  const app = await NestFactory.create<NestFastifyApplication>({ module: AppModule, imports: GoTrueModule.mountedAt(gotruePrefix) }, adapter, {
    bufferLogs: !preview,
    ...(preview ? {} : { logger: nestBootLogger(logLevel) }),
    bodyParser: false,
    preview,
    abortOnError: false,
  });
  if (!preview) app.useLogger(app.get(Logger));
  const events = preview ? undefined : eventsConfig();
  if (events?.servers) app.connectMicroservice(natsApiOptions(events), { inheritAppConfig: true });
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app, publicUrl), SWAGGER_UI_OPTIONS);
  return app;
}

/**
 * Starts the NATS API (when USERS_ES_URL is set) without waiting for it: while NATS is down the
 * service still answers HTTP (its readiness says so), and the API comes up with NATS.
 */
export function startNatsApi(app: NestFastifyApplication): void {
  if (app.getMicroservices().length === 0) return;
  app.startAllMicroservices().catch((error: unknown) => app.get(Logger).error({ err: error }, natsFailure(error, 'the NATS API is not served')));
}

/** The first lines of a run: what starts, with which configuration (one JSON line, secrets masked), and what looks wrong in it. */
function logStart(logger: ReturnType<typeof rootLogger>, { mode, warnings, effective }: LoadedConfiguration) {
  logger.info({ version, commit: appConfig().commit, mode, node: process.version }, 'starting');
  logger.info({ config: effective }, 'configuration');
  for (const warning of warnings) logger.warn(warning);
}

/**
 * Helmet's headers for every answer. Our helmet configuration is static, so they are computed once, by
 * running helmet against a recording response, instead of running its middleware chain per request.
 * Their names are kept in lower case, as Fastify stores them: it lower-cases every name it is given,
 * which makes a new string per header and request unless the name already is.
 */
const SECURITY_HEADERS = recordHeaders(
  helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // Swagger UI styles itself inline and shows data: images.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        scriptSrc: ["'self'"],
      },
    },
  }),
);

/**
 * Every answer: helmet's headers, and no caching unless a route says otherwise (the JWKS): answers carry
 * tokens (login, refresh, OAuth sessions) and personal data, which no browser or proxy may keep.
 */
const ANSWER_HEADERS = { ...SECURITY_HEADERS, 'cache-control': 'no-store' };

function recordHeaders(middleware: ReturnType<typeof helmet>): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => void (headers[name.toLowerCase()] = value),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  middleware({} as IncomingMessage, response as unknown as ServerResponse, () => undefined);
  return headers;
}

/**
 * CORS for the UI's pages (OAUTH_ALLOWED_REDIRECT_ORIGINS), with credentials: the `cors` package
 * decides the headers, only for requests from one of those origins. Every other request skips it, so
 * another origin gets no CORS header at all (and its preflight no 204); and a CORS plugin hook on
 * every request cost a fifth of a refused one.
 */
function allowUiOrigins(fastify: FastifyInstance, origins: string[]) {
  const allowed = new Set(origins);
  const middleware = cors({
    origin: origins,
    credentials: true,
    // X-Client-Info, X-Supabase-Api-Version and apikey: what @supabase/auth-js (and supabase-js) send with every call of the GoTrue API.
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'X-Client-Info', 'X-Supabase-Api-Version', 'apikey'],
    exposedHeaders: ['Location', 'Retry-After', 'X-Request-Id'],
    maxAge: 600,
    preflightContinue: true,
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.headers.origin === undefined || !allowed.has(request.headers.origin)) return done();
    middleware(request.raw, reply.raw, () => {
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) void reply.code(204).send();
      else done();
    });
  });
}

/** Errors Fastify raises before routing (a malformed URL) get our body and headers too. */
function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const message = error.code === 'FST_ERR_BAD_URL' ? 'malformed URL' : ERRORS.BAD_REQUEST.message;
  void reply.code(400).headers(ANSWER_HEADERS).header('X-Request-Id', request.id).send(httpErrorBody({ statusCode: 400, code: 'BAD_REQUEST', message }));
}

/** What the HTTP parser refuses before any request exists (Node's 'clientError'), by its error code; anything else is a 400. */
const CLIENT_ERRORS: Partial<Record<string, ErrorCode>> = { HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE', ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT' };

/**
 * A request Node's HTTP parser refuses (malformed request line or headers, headers over the size limit,
 * a request not received in time) never reaches Fastify's routing: Node, or Fastify's default handler,
 * would answer in its own words. Here it gets our body and headers too, and the connection is closed
 * (the parser cannot go on after an error).
 */
function answerClientError(error: Error & { code?: string }, socket: Socket) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (!socket.writable) return void socket.destroy();
  const code = CLIENT_ERRORS[error.code ?? ''] ?? 'BAD_REQUEST';
  const { status, message } = ERRORS[code];
  const body = JSON.stringify(httpErrorBody({ statusCode: status, code, message }));
  const headers = { ...ANSWER_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'X-Request-Id': randomUUID(), Connection: 'close' };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head}\r\n${body}`);
}

/**
 * JSON is the only body type: anything else is a 415, an empty body counts as none, malformed JSON is
 * a 400 MALFORMED_JSON, and JSON nested deeper than JSON_MAX_DEPTH a 400 VALIDATION_FAILED. Fastify's
 * own parser (with its prototype-poisoning guards) parses.
 */
function acceptOnlyJson(fastify: FastifyInstance) {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' || body.length === 0) return done(null, undefined);
    parseJson(request, body.toString(), (error, value) => {
      if (error) return done(new AppError('MALFORMED_JSON'), undefined);
      if (nestsDeeperThan(value, JSON_MAX_DEPTH)) {
        const problem = `nested deeper than ${JSON_MAX_DEPTH} levels`;
        return done(new AppError('VALIDATION_FAILED', `request body is ${problem}`, [{ field: 'body', problem }]), undefined);
      }
      done(null, value);
    });
  });
}
