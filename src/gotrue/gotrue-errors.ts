import { HttpStatus } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { ErrorBody } from '../common/filters/all-exceptions.filter';
import { ErrorCode } from '../common/errors/error-codes';
import { RateLimitName } from '../config/rate-limit.config';
import { RateLimitedError } from '../rate-limit/rate-limit.guard';
import { WEAK_PASSWORD } from '../users/password.service';
import { GoTrueErrorDto } from './dto/gotrue.dto';

/** An error in GoTrue's terms, for the cases where the adapter knows more than our code says (a refused sign-up). */
export class GoTrueError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** The sign-up is refused because self-registration is off (GoTrue's DISABLE_SIGNUP). */
export const SIGNUP_DISABLED = () => new GoTrueError(HttpStatus.UNPROCESSABLE_ENTITY, 'signup_disabled', 'Signups not allowed for this instance');
/** A password sign-in of a user whose address is not verified while verification is required. */
export const EMAIL_NOT_CONFIRMED = () => new GoTrueError(HttpStatus.BAD_REQUEST, 'email_not_confirmed', 'Email not confirmed');

/** The limits that count mails (USERS_RATE_LIMIT_EMAIL, _EMAIL_ACCOUNT): GoTrue's mail limit; any other is its request limit. */
const MAIL_LIMITS: readonly string[] = ['email', 'email-account'] satisfies RateLimitName[];

/** A rate limit's refusal (429, Retry-After kept by the filter) as GoTrue answers it: auth-js reads `error_code`. */
export function rateLimitRefusal(error: RateLimitedError): GoTrueError {
  return MAIL_LIMITS.includes(error.limit)
    ? new GoTrueError(HttpStatus.TOO_MANY_REQUESTS, 'over_email_send_rate_limit', 'Email rate limit exceeded')
    : new GoTrueError(HttpStatus.TOO_MANY_REQUESTS, 'over_request_rate_limit', 'Request rate limit reached');
}

/**
 * Our error codes as Supabase Auth answers the same condition: its status, its `error_code` (which
 * auth-js turns into AuthApiError.code) and its message where clients show it. Codes not listed keep
 * their status and message, with the code in lower case.
 */
const GOTRUE_ERRORS: Partial<Record<ErrorCode, [number, string, string?]>> = {
  VALIDATION_FAILED: [400, 'validation_failed'],
  MALFORMED_JSON: [400, 'bad_json', 'Could not parse request body as JSON'],
  LINK_TOKEN_INVALID: [403, 'otp_expired', 'Email link is invalid or has expired'],
  LINK_TOKEN_EXPIRED: [403, 'otp_expired', 'Email link is invalid or has expired'],
  LINK_TOKEN_USED: [403, 'otp_expired', 'Email link is invalid or has expired'],
  LINK_TOKEN_WRONG_TYPE: [403, 'otp_expired', 'Email link is invalid or has expired'],
  TOKEN_MISSING: [401, 'no_authorization', 'This endpoint requires a valid Bearer token'],
  TOKEN_INVALID: [403, 'bad_jwt', 'invalid JWT: unable to parse or verify signature'],
  TOKEN_EXPIRED: [403, 'bad_jwt', 'invalid JWT: token is expired'],
  // auth-js drops its stored session on this code (AuthSessionMissingError).
  TOKEN_REVOKED: [403, 'session_not_found', 'Session from session_id claim in JWT does not exist'],
  REAUTHENTICATION_REQUIRED: [400, 'reauthentication_needed', 'Password update requires reauthentication: sign in again, or give current_password'],
  INVALID_CREDENTIALS: [400, 'invalid_credentials', 'Invalid login credentials'],
  ACCOUNT_DISABLED: [403, 'user_banned', 'User is banned'],
  REFRESH_TOKEN_INVALID: [400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found'],
  REFRESH_TOKEN_REUSED: [400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used'],
  EMAIL_NOT_VERIFIED: [403, 'email_not_confirmed', 'Email not confirmed'],
  FORBIDDEN: [403, 'not_admin', 'User not allowed'],
  AAL2_REQUIRED: [403, 'insufficient_aal', 'AAL2 required'],
  MFA_ENROLLMENT_REQUIRED: [403, 'insufficient_aal', 'AAL2 required'],
  MFA_CHALLENGE_INVALID: [400, 'mfa_challenge_expired', 'MFA challenge has expired, verify against another challenge or create a new factor.'],
  MFA_CODE_INVALID: [422, 'mfa_verification_failed', 'Invalid TOTP code entered'],
  MFA_FACTOR_NOT_FOUND: [404, 'mfa_factor_not_found', 'Factor not found'],
  MFA_FACTOR_NAME_TAKEN: [422, 'mfa_factor_name_conflict', 'A factor with the friendly name already exists'],
  MFA_FACTOR_LIMIT: [422, 'too_many_enrolled_mfa_factors', 'Maximum number of verified factors reached, unenroll to continue'],
  RATE_LIMITED: [429, 'over_request_rate_limit', 'Request rate limit reached'],
  WRONG_SECRET: [400, 'current_password_mismatch', 'Current password required when setting new password'],
  USER_NOT_FOUND: [404, 'user_not_found', 'User not found'],
  TOKEN_NOT_FOUND: [404, 'session_not_found', 'Session not found'],
  ROUTE_NOT_FOUND: [404, 'not_found', 'Not found'],
  EMAIL_TAKEN: [422, 'email_exists', 'A user with this email address has already been registered'],
  ALREADY_VERIFIED: [422, 'email_address_already_confirmed', 'Email address already confirmed'],
  // Supabase Auth's code for a hook that failed to answer; the message says whether it timed out.
  SIGNUP_HOOK_UNAVAILABLE: [503, 'hook_timeout'],
  TOO_MANY_REQUESTS: [429, 'over_email_send_rate_limit', 'Email rate limit exceeded'],
  INTERNAL: [500, 'unexpected_failure', 'Unexpected failure'],
  SERVICE_UNAVAILABLE: [503, 'request_timeout', 'The database is unavailable; retry later'],
};

/** The grant errors of OAuth 2.0 (RFC 6749 §5.2) by status, for POST /token's `error`. */
const OAUTH_ERRORS: Record<number, string> = { 400: 'invalid_grant', 401: 'unauthorized_client', 403: 'access_denied', 429: 'slow_down', 500: 'server_error', 503: 'temporarily_unavailable' };

/** Our error body (or a GoTrueError) as GoTrue's; with OAuth's `error`/`error_description` too on POST /token. */
export function goTrueErrorBody(error: ErrorBody | GoTrueError, { oauth }: { oauth: boolean }): GoTrueErrorDto {
  let body: GoTrueErrorDto;
  if (error instanceof GoTrueError) {
    body = { code: error.status, error_code: error.errorCode, msg: error.message };
  } else {
    const [status, errorCode, message] = GOTRUE_ERRORS[error.code] ?? [error.statusCode, error.code.toLowerCase()];
    const problems = error.details?.map(({ field, problem }) => `${field}: ${problem}`).join('; ');
    body = { code: status, error_code: errorCode, msg: message ?? (problems || error.message) };
    // A password the policy refuses: Supabase's weak_password (auth-js's AuthWeakPasswordError).
    if (error.code === 'VALIDATION_FAILED' && error.message === WEAK_PASSWORD) {
      body = { code: 422, error_code: 'weak_password', msg: problems || error.message, weak_password: { reasons: error.details?.map(({ problem }) => problem) ?? [] } };
    }
  }
  return oauth ? { ...body, error: OAUTH_ERRORS[body.code] ?? 'invalid_request', error_description: body.msg } : body;
}

/** The error of a redirect (GET /verify's fragment) as GoTrue writes it: OAuth's error, GoTrue's error_code, and the message. */
const REDIRECT_ERRORS: Record<number, string> = { 400: 'invalid_request', 401: 'unauthorized_client', 403: 'access_denied', 500: 'server_error', 503: 'temporarily_unavailable' };

/** A refusal (AppError, GoTrueError) as the fragment of GoTrue's error redirect; undefined for a fault, which the exception filter answers. */
export function redirectError(error: unknown): { error: string; error_code: string; error_description: string } | undefined {
  if (!(error instanceof AppError) && !(error instanceof GoTrueError)) return undefined;
  const body = goTrueErrorBody(error instanceof AppError ? { statusCode: error.status, code: error.code, message: error.message, details: error.details } : error, { oauth: false });
  return { error: REDIRECT_ERRORS[body.code] ?? 'invalid_request', error_code: body.error_code, error_description: body.msg };
}
