import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Logger as NestPinoLogger, Params, PinoLogger } from 'nestjs-pino';
import pino, { Logger } from 'pino';
import { traceLogFields } from '../../tracing/trace-context';
import { PROBE_PATH } from './probe-path';

const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;
const SECRET_QUERY = /([?&](?:token|access_token|refresh_token|code|state)=)[^&]*/gi;

/**
 * The request id (Fastify's `genReqId`): the caller's X-Request-Id when it is sane, else a new UUID.
 * A hostile header cannot forge log lines or grow without bound.
 */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Properties an error may carry that must never reach a log (#8 finding 7): TypeORM's QueryFailedError
 * copies the statement's `parameters` (argon2 hashes, e-mail addresses, tokens' hashes), the driver's
 * error and its `detail` ("Key (email)=(ada@example.com) already exists") onto itself.
 */
const UNLOGGED_ERROR_PROPERTIES = ['parameters', 'driverError', 'detail'];

/** pino's error serializer, minus UNLOGGED_ERROR_PROPERTIES at any depth (causes, aggregated errors): a copy. */
export function errorForLog(error: unknown): unknown {
  return withoutUnlogged(pino.stdSerializers.err(error as Error), 0);
}

function withoutUnlogged(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => withoutUnlogged(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!UNLOGGED_ERROR_PROPERTIES.includes(key)) copy[key] = withoutUnlogged(item, depth + 1);
  }
  return copy;
}

let root: Logger | undefined;

/**
 * The process's one pino logger: Fastify logs each request through it (with the request id as
 * `reqId`), and Nest's Logger writes to it through nestjs-pino. Writes are asynchronous, so a request
 * never waits for stdout; pino flushes what is left at exit.
 */
export function rootLogger(level: string): Logger {
  root ??= createRootLogger();
  root.level = level;
  return root;
}

/** The process's logger for code that runs before or outside Nest (database start, shutdown); info level until configured. */
export function processLogger(): Logger {
  root ??= createRootLogger();
  return root;
}

/** JSON lines with an ISO-8601 `time` and the level's name (`"level":"warn"`), for people and log shippers alike. */
function createRootLogger(): Logger {
  return pino(
    {
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // With tracing: the trace and span a line was written in (a request's line names its trace).
      mixin: traceLogFields,
      serializers: {
        req: (request: FastifyRequest) => ({
          method: request.method,
          url: request.url.replace(SECRET_QUERY, '$1[REDACTED]'),
          remoteAddress: request.ip,
        }),
        res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
        err: errorForLog,
      },
    },
    pino.destination({ sync: false }),
  );
}


/**
 * One line per answered request (Fastify's onResponse hook); 5xx at error level, but a 503 (a
 * dependency down, or the hashing queue full: expected, retryable) at warn. Probe requests only at debug, also a 503 of
 * readiness (the health controller logs once when readiness changes).
 */
export function logRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const line = { req: request, res: reply, responseTime: Math.round(reply.elapsedTime) };
  if (PROBE_PATH.test(request.url) && reply.statusCode !== 500) request.log.debug(line, 'probe answered');
  else if (reply.statusCode === 503) request.log.warn(line, 'request refused: a dependency is unavailable, or too many password hashes wait');
  else if (reply.statusCode >= 500) request.log.error(line, 'request failed');
  else request.log.info(line, 'request completed');
  done();
}

/**
 * nestjs-pino as Nest's logger, over the same pino instance. It binds no per-request middleware:
 * Fastify already logs requests, and the middleware's AsyncLocalStorage costs every request dearly.
 */
export function nestLoggerParams(level: string): Params {
  return { pinoHttp: { logger: rootLogger(level) }, useExisting: true, forRoutes: [] };
}

/**
 * Nest's logger from the very first line (NestFactory.create's `logger`): what Nest logs before the
 * LoggerModule exists — module start-up, or the error that stopped it — is a JSON line too, never
 * Nest's coloured console output.
 */
export function nestBootLogger(level: string): NestPinoLogger {
  const params = nestLoggerParams(level);
  return new NestPinoLogger(new PinoLogger(params), params);
}
