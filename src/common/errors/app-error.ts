import { ERRORS, ErrorCode } from './error-codes';

export interface ErrorDetail {
  field: string;
  problem: string;
}

/** A domain error: services throw it, the exception filter turns it into our JSON error body. */
export class AppError extends Error {
  readonly status: number;

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
