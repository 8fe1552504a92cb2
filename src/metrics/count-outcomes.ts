import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata, UseInterceptors, applyDecorators } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Observable, tap } from 'rxjs';
import { isDatabaseUnavailable } from '../common/database/database-unavailable';
import { AppError } from '../common/errors/app-error';
import { Metrics } from './metrics.service';

type OutcomeCounter = 'logins' | 'refreshes';
const COUNTER = 'metrics:outcome-counter';

/** The result label of a failed operation: our error code in lower case (`invalid_credentials`). */
function resultOf(error: unknown): string {
  if (error instanceof AppError) return error.code.toLowerCase();
  return isDatabaseUnavailable(error) ? 'service_unavailable' : 'internal';
}

@Injectable()
export class CountOutcomesInterceptor implements NestInterceptor {
  constructor(
    private readonly metrics: Metrics,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const counter = this.metrics[this.reflector.get<OutcomeCounter>(COUNTER, context.getHandler())];
    return next.handle().pipe(
      tap({
        next: () => counter.inc({ result: 'success' }),
        error: (error: unknown) => counter.inc({ result: resultOf(error) }),
      }),
    );
  }
}

/** Counts each call of the handler in `users_<counter>_total` by result: success or the error code. */
export const CountOutcomes = (counter: OutcomeCounter) => applyDecorators(SetMetadata(COUNTER, counter), UseInterceptors(CountOutcomesInterceptor));
