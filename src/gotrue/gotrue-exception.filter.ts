import { ArgumentsHost, Catch } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../common/errors/app-error';
import { AllExceptionsFilter } from '../common/filters/all-exceptions.filter';
import { RateLimitedError } from '../rate-limit/rate-limit.guard';
import { GoTrueError, goTrueErrorBody, rateLimitRefusal } from './gotrue-errors';

/**
 * The GoTrue API's errors in GoTrue's body (`{code, error_code, msg}`; POST /token also with OAuth's
 * `error`/`error_description`), bound to its controller: the exception is first made our error body
 * exactly as everywhere else (AllExceptionsFilter: 503 while PostgreSQL is down, 500s logged with the
 * request id), then translated. A rate limit's refusal (RateLimitedError, from the guard of @RateLimit)
 * becomes GoTrue's 429 for that kind of limit, its Retry-After kept.
 */
@Catch()
export class GoTrueExceptionFilter extends AllExceptionsFilter {
  override catch(raised: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const response = http.getResponse<FastifyReply>();
    const exception = this.unavailableAsAppError(raised, String(request.id ?? ''));
    const ours =
      exception instanceof GoTrueError ? exception : exception instanceof RateLimitedError ? rateLimitRefusal(exception) : this.toBody(exception, String(request.id ?? ''));
    const body = goTrueErrorBody(ours, { oauth: request.routeOptions.url?.endsWith('/token') ?? false });
    if (exception instanceof AppError && exception.retryAfterSeconds) response.header('Retry-After', String(exception.retryAfterSeconds));
    void response.status(body.code).send(body);
  }
}
