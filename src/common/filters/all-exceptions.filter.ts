import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyReply } from 'fastify';
import { Observable, throwError } from 'rxjs';
import { databaseErrorSummary, isDatabaseUnavailable } from '../database/database-unavailable';
import { AppError } from '../errors/app-error';
import { ERRORS, ErrorCode } from '../errors/error-codes';

/** Codes for errors raised outside our services (router, body parser, Fastify), by HTTP status. */
const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: 'BAD_REQUEST',
  [HttpStatus.UNAUTHORIZED]: 'TOKEN_INVALID',
  [HttpStatus.FORBIDDEN]: 'FORBIDDEN',
  [HttpStatus.NOT_FOUND]: 'ROUTE_NOT_FOUND',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'PAYLOAD_TOO_LARGE',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'UNSUPPORTED_MEDIA_TYPE',
};

/** The error code each HTTP answer of this filter carried, for the metrics (see answeredErrorCode). */
const answeredCodes = new WeakMap<FastifyReply, ErrorCode>();

/** The code of the error this filter answered `reply` with; undefined for a success and for answers made elsewhere (Fastify's hooks). */
export function answeredErrorCode(reply: FastifyReply): ErrorCode | undefined {
  return answeredCodes.get(reply);
}

/** Retry-After of a 503 while PostgreSQL is down: about the time a restart or fail-over takes. */
const DATABASE_RETRY_AFTER_SECONDS = 2;

export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  message: string;
  details?: { field: string; problem: string }[];
}

/**
 * On HTTP the body also carries `error`, the one line that SuperMQ's SDKs decode (`{error, message}`)
 * and show: the field problems of a validation error, else the message.
 */
export function httpErrorBody(body: ErrorBody): ErrorBody & { error: string } {
  const error = body.details?.map(({ field, problem }) => `${field}: ${problem}`).join('; ') || body.message;
  return Object.assign({}, body, { error }); // (no object spread on a hot path: see toUser)
}

/**
 * Turns every exception into our JSON error body (APP_FILTER), on HTTP and on the NATS API. Unknown
 * errors become a 500 that names the request id and nothing else; the error itself goes to the log.
 * A database outage is an expected condition, not a fault: 503 SERVICE_UNAVAILABLE with Retry-After,
 * logged as one warning without stack.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ExceptionFilter');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(raised: unknown, host: ArgumentsHost): void | Observable<never> {
    // The NATS API answers the same body, as `{"error": …}` (see nats-transport.ts).
    if (host.getType() === 'rpc') {
      const requestId = `nats:${host.switchToRpc().getContext<{ getSubject?(): string }>().getSubject?.() ?? ''}`;
      const body = this.toBody(this.unavailableAsAppError(raised, requestId), requestId);
      return throwError(() => body);
    }
    if (host.getType() !== 'http') throw raised;
    const http = host.switchToHttp();
    const requestId = String(http.getRequest<{ id?: unknown }>().id ?? '');
    const exception = this.unavailableAsAppError(raised, requestId);
    const body = this.toBody(exception, requestId);
    const response = http.getResponse<FastifyReply>();
    if (exception instanceof AppError && exception.retryAfterSeconds) response.header('Retry-After', String(exception.retryAfterSeconds));
    answeredCodes.set(response, body.code);
    this.adapterHost.httpAdapter.reply(response, httpErrorBody(body), body.statusCode);
  }

  protected unavailableAsAppError(exception: unknown, requestId: string): unknown {
    if (!isDatabaseUnavailable(exception)) return exception;
    this.logger.warn({ error: databaseErrorSummary(exception), requestId }, 'database unavailable; answered 503');
    return AppError.serviceUnavailable(DATABASE_RETRY_AFTER_SECONDS);
  }

  protected toBody(exception: unknown, requestId: string): ErrorBody {
    if (exception instanceof AppError) {
      return { statusCode: exception.status, code: exception.code, message: exception.message, ...(exception.details ? { details: exception.details } : {}) };
    }
    const status = exception instanceof HttpException ? exception.getStatus() : statusOfFrameworkError(exception);
    if (status !== undefined && status < 500) {
      const code = CODE_BY_STATUS[status] ?? 'BAD_REQUEST';
      return { statusCode: status, code, message: ERRORS[code].message };
    }
    this.logger.error({ err: exception, requestId }, 'unhandled error');
    return { statusCode: 500, code: 'INTERNAL', message: `internal error (request id ${requestId})` };
  }
}

/** Fastify's own errors (body too large, unsupported media type, …) carry a 4xx `statusCode`. */
function statusOfFrameworkError(exception: unknown): number | undefined {
  const status = (exception as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
