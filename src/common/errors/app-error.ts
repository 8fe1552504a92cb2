import { ERRORS, ErrorCode } from './error-codes';

export interface ErrorDetail {
  field: string;
  problem: string;
}

/** A domain error: services throw it, the exception filter turns it into our JSON error body. */
export class AppError extends Error {
  readonly status: number;
  /** For TOO_MANY_REQUESTS, RATE_LIMITED, SERVICE_UNAVAILABLE and SERVER_BUSY: sent as the Retry-After header. */
  retryAfterSeconds?: number;

  static tooManyRequests(waitMs: number): AppError {
    const seconds = Math.ceil(waitMs / 1000);
    return Object.assign(new AppError('TOO_MANY_REQUESTS', `too many requests; retry in ${seconds} s`), { retryAfterSeconds: seconds });
  }

  /** PostgreSQL is down: the client may retry after a moment (readiness takes the replica out meanwhile). */
  static serviceUnavailable(retryAfterSeconds: number): AppError {
    return Object.assign(new AppError('SERVICE_UNAVAILABLE'), { retryAfterSeconds });
  }

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: ErrorDetail[],
  ) {
    // Domain errors are answers, not faults: capturing a stack for each refused token would cost more
    // than the rest of the request.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message ?? ERRORS[code].message);
    Error.stackTraceLimit = stackTraceLimit;
    this.status = ERRORS[code].status;
  }
}

/**
 * `run()`, with no stack captured for the errors made meanwhile: for libraries whose errors are answers
 * to a caller (a refused token), not faults, where the capture costs more than the rest of the answer.
 */
export function withoutStackTraces<T>(run: () => T): T {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return run();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
