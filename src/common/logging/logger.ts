import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Params } from 'nestjs-pino';
import pino, { Logger } from 'pino';

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

let root: Logger | undefined;

/**
 * The process's one pino logger: Fastify logs each request through it (with the request id as
 * `reqId`), and Nest's Logger writes to it through nestjs-pino. Writes are asynchronous, so a request
 * never waits for stdout; pino flushes what is left at exit.
 */
export function rootLogger(level: string): Logger {
  root ??= pino(
    {
      serializers: {
        req: (request: FastifyRequest) => ({
          method: request.method,
          url: request.url.replace(SECRET_QUERY, '$1[REDACTED]'),
          remoteAddress: request.ip,
        }),
        res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    pino.destination({ sync: false }),
  );
  root.level = level;
  return root;
}

/** One line per answered request (Fastify's onResponse hook); 5xx at error level. */
export function logRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const line = { req: request, res: reply, responseTime: Math.round(reply.elapsedTime) };
  if (reply.statusCode >= 500) request.log.error(line, 'request failed');
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
