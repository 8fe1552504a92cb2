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

  /** Only for validation errors. */
  details?: ErrorDetailDto[];
}
