import { ApiProperty } from '@nestjs/swagger';
import { ERRORS, ErrorCode } from '../errors/error-codes';

export class ErrorDetailDto {
  /** The offending field, as a dotted path (`credentials.username`). */
  field: string;
  problem: string;
}

/** The body of every error response. */
export class ErrorResponseDto {
  /** @example 409 */
  statusCode: number;

  @ApiProperty({ enum: Object.keys(ERRORS), example: 'EMAIL_TAKEN', description: 'Stable machine-readable error code' })
  code: ErrorCode;

  /** @example email already registered */
  message: string;

  /** The same in one line, as SuperMQ's SDKs decode it: the field problems of a validation error, else `message`. @example email already registered */
  error: string;

  /** Only for validation errors. */
  details?: ErrorDetailDto[];
}
