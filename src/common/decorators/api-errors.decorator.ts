import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../dto/error-response.dto';
import { ERRORS, ErrorCode } from '../errors/error-codes';
import { httpErrorBody } from '../filters/all-exceptions.filter';

/** Every request can fail with these, whatever the endpoint (503 while PostgreSQL is down, with Retry-After). */
const ALWAYS: ErrorCode[] = ['INTERNAL', 'SERVICE_UNAVAILABLE'];
/** Any endpoint that takes a JSON body. */
export const BODY_ERRORS: ErrorCode[] = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
/** Any endpoint behind a bearer token. */
export const AUTH_ERRORS: ErrorCode[] = ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'ACCOUNT_DISABLED'];

/** An admin route, or an admin acting on another user's account (#16): see MfaPolicy.assertAdminAssurance. */
export const ADMIN_MFA_ERRORS: ErrorCode[] = ['AAL2_REQUIRED', 'MFA_ENROLLMENT_REQUIRED'];

/** What a validation error's `details` look like; the other codes carry none. */
const SAMPLE_DETAILS = [{ field: 'email', problem: 'email must be an email' }];

/** The body the API answers with `code`, built by the same function as the real answers. */
export function errorExample(code: ErrorCode) {
  const { status, message } = ERRORS[code];
  const details = code === 'VALIDATION_FAILED' ? { details: SAMPLE_DETAILS } : {};
  return { summary: message, value: httpErrorBody({ statusCode: status, code, message, ...details }) };
}

/**
 * Documents the error codes an endpoint can answer with: one OpenAPI response per status, listing its
 * codes and showing one example body per code (Swagger UI offers them in a drop-down).
 */
export function ApiErrors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, Set<ErrorCode>>();
  for (const code of [...codes, ...ALWAYS]) {
    const status = ERRORS[code].status;
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
  }
  return applyDecorators(
    ...[...byStatus.entries()].map(([status, set]) =>
      ApiResponse({
        status,
        type: ErrorResponseDto,
        description: `Error codes: ${[...set].join(', ')}`,
        examples: Object.fromEntries([...set].map((code) => [code, errorExample(code)])),
      }),
    ),
  );
}
