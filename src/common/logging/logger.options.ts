import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { Params } from 'nestjs-pino';
import pino from 'pino';

const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;
const SECRET_QUERY = /([?&](?:token|access_token|refresh_token|code|state)=)[^&]*/gi;

/**
 * The request id (Fastify's `genReqId`, which pino-http then reuses): the caller's X-Request-Id when it
 * is sane, else a new UUID. A hostile header cannot forge log lines or grow without bound.
 */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** JSON lines through pino; request and response are reduced to what is safe to keep. */
export function loggerOptions(level: string): Params {
  const options = {
    level,
    customLogLevel: (_request: IncomingMessage, response: { statusCode: number }, error?: Error) =>
      error || response.statusCode >= 500 ? ('error' as const) : ('info' as const),
    serializers: {
      req: (request: { id: string; method: string; url: string; remoteAddress?: string }) => ({
        id: request.id,
        method: request.method,
        url: request.url.replace(SECRET_QUERY, '$1[REDACTED]'),
        remoteAddress: request.remoteAddress,
      }),
      res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
    },
  };
  // Asynchronous writes: a request never waits for stdout; pino flushes what is left at exit.
  return { pinoHttp: [options, pino.destination({ sync: false })] };
}
