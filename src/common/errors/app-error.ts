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
    super(message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
  }
}
