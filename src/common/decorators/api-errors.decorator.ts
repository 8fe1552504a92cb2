import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../dto/error-response.dto';
import { ERRORS, ErrorCode } from '../errors/error-codes';

/** Every request can fail with these, whatever the endpoint (503 while PostgreSQL is down, with Retry-After). */
const ALWAYS: ErrorCode[] = ['INTERNAL', 'SERVICE_UNAVAILABLE'];
/** Any endpoint that takes a JSON body. */
export const BODY_ERRORS: ErrorCode[] = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
/** Any endpoint behind a bearer token. */
export const AUTH_ERRORS: ErrorCode[] = ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'ACCOUNT_DISABLED'];

/** Documents the error codes an endpoint can answer with, one OpenAPI response per status. */
export function ApiErrors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, Set<ErrorCode>>();
  for (const code of [...codes, ...ALWAYS]) {
    const status = ERRORS[code].status;
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
  }
  return applyDecorators(
    ...[...byStatus.entries()].map(([status, set]) =>
      ApiResponse({ status, type: ErrorResponseDto, description: `Error codes: ${[...set].join(', ')}` }),
    ),
  );
}
