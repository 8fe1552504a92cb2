import { HttpStatus } from '@nestjs/common';

/**
 * Every error the API returns, with its HTTP status. Codes are stable: clients switch on them, so an
 * existing code is never renamed; the OpenAPI document lists them per endpoint.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: HttpStatus.BAD_REQUEST, message: 'request validation failed' },
  MALFORMED_JSON: { status: HttpStatus.BAD_REQUEST, message: 'request body is not valid JSON' },
  INVALID_ID: { status: HttpStatus.BAD_REQUEST, message: 'id must be a UUID' },
  BAD_REQUEST: { status: HttpStatus.BAD_REQUEST, message: 'bad request' },
  LINK_TOKEN_INVALID: { status: HttpStatus.BAD_REQUEST, message: 'this link is not valid (unknown, replaced or altered token)' },
  LINK_TOKEN_EXPIRED: { status: HttpStatus.BAD_REQUEST, message: 'this link has expired' },
  LINK_TOKEN_USED: { status: HttpStatus.BAD_REQUEST, message: 'this link was already used' },
  LINK_TOKEN_WRONG_TYPE: { status: HttpStatus.BAD_REQUEST, message: 'this token is not for this purpose' },
  TOKEN_MISSING: { status: HttpStatus.UNAUTHORIZED, message: 'missing bearer token' },
  TOKEN_INVALID: { status: HttpStatus.UNAUTHORIZED, message: 'invalid token' },
  TOKEN_EXPIRED: { status: HttpStatus.UNAUTHORIZED, message: 'token expired' },
  TOKEN_REVOKED: { status: HttpStatus.UNAUTHORIZED, message: 'token revoked' },
  REAUTHENTICATION_REQUIRED: { status: HttpStatus.UNAUTHORIZED, message: 'sign in again, or give your current password, to do this' },
  INVALID_CREDENTIALS: { status: HttpStatus.UNAUTHORIZED, message: 'invalid identity or secret' },
  ACCOUNT_DISABLED: { status: HttpStatus.UNAUTHORIZED, message: 'account is disabled' },
  REFRESH_TOKEN_INVALID: { status: HttpStatus.UNAUTHORIZED, message: 'invalid or expired refresh token' },
  REFRESH_TOKEN_REUSED: { status: HttpStatus.UNAUTHORIZED, message: 'refresh token already used; the session has been revoked' },
  EMAIL_NOT_VERIFIED: { status: HttpStatus.UNAUTHORIZED, message: 'email address is not verified' },
  FORBIDDEN: { status: HttpStatus.FORBIDDEN, message: 'not allowed' },
  AAL2_REQUIRED: { status: HttpStatus.FORBIDDEN, message: 'this needs a session whose second factor was given within USERS_MFA_REAUTH_WINDOW (aal2): verify a code (POST /users/tokens/step-up)' },
  MFA_ENROLLMENT_REQUIRED: { status: HttpStatus.FORBIDDEN, message: 'admins must enrol a second factor first (USERS_MFA_REQUIRED_FOR_ADMINS)' },
  MFA_CHALLENGE_INVALID: { status: HttpStatus.UNAUTHORIZED, message: 'this MFA challenge is unknown or expired: sign in again' },
  PASSKEY_CHALLENGE_INVALID: { status: HttpStatus.UNAUTHORIZED, message: 'this passkey challenge is unknown, expired, already answered or not yours: ask for new options' },
  PASSKEY_UNKNOWN: { status: HttpStatus.UNAUTHORIZED, message: 'this passkey is not registered here' },
  PASSKEY_INVALID: { status: HttpStatus.UNAUTHORIZED, message: 'the passkey response was refused' },
  WRONG_SECRET: { status: HttpStatus.FORBIDDEN, message: 'old secret does not match' },
  USER_NOT_FOUND: { status: HttpStatus.NOT_FOUND, message: 'user not found' },
  TOKEN_NOT_FOUND: { status: HttpStatus.NOT_FOUND, message: 'refresh token not found' },
  MFA_FACTOR_NOT_FOUND: { status: HttpStatus.NOT_FOUND, message: 'factor not found' },
  ROUTE_NOT_FOUND: { status: HttpStatus.NOT_FOUND, message: 'route not found' },
  EMAIL_TAKEN: { status: HttpStatus.CONFLICT, message: 'email already registered' },
  USERNAME_TAKEN: { status: HttpStatus.CONFLICT, message: 'username already taken' },
  STATUS_ALREADY_SET: { status: HttpStatus.CONFLICT, message: 'user already has this status' },
  MFA_FACTOR_NAME_TAKEN: { status: HttpStatus.CONFLICT, message: 'you already have a factor of this name' },
  PASSKEY_ALREADY_REGISTERED: { status: HttpStatus.CONFLICT, message: 'this passkey is already registered' },
  MFA_NOT_ENABLED: { status: HttpStatus.CONFLICT, message: 'enrol and verify a factor first' },
  LAST_ADMIN: { status: HttpStatus.CONFLICT, message: 'the last enabled admin cannot be removed, disabled or demoted' },
  PAYLOAD_TOO_LARGE: { status: HttpStatus.PAYLOAD_TOO_LARGE, message: 'request body too large' },
  REQUEST_TIMEOUT: { status: HttpStatus.REQUEST_TIMEOUT, message: 'the request was not received in time' },
  // Nest's HttpStatus has no 431.
  HEADERS_TOO_LARGE: { status: 431 as HttpStatus, message: 'request headers too large' },
  MFA_CODE_INVALID: { status: HttpStatus.UNPROCESSABLE_ENTITY, message: 'invalid code' },
  MFA_FACTOR_LIMIT: { status: HttpStatus.UNPROCESSABLE_ENTITY, message: 'too many factors: remove one first' },
  ALREADY_VERIFIED: { status: HttpStatus.UNPROCESSABLE_ENTITY, message: 'email address is already verified' },
  // The message is the webhook receiver's own (WEBHOOK_URL's `validate` answered other than 2xx).
  SIGNUP_REFUSED_BY_HOOK: { status: HttpStatus.UNPROCESSABLE_ENTITY, message: 'the sign-up was refused by the validate webhook' },
  TOO_MANY_REQUESTS: { status: HttpStatus.TOO_MANY_REQUESTS, message: 'too many requests; retry later' },
  RATE_LIMITED: { status: HttpStatus.TOO_MANY_REQUESTS, message: 'rate limit reached; retry after the time in Retry-After' },
  UNSUPPORTED_MEDIA_TYPE: { status: HttpStatus.UNSUPPORTED_MEDIA_TYPE, message: 'request body must be application/json' },
  INTERNAL: { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error' },
  SERVICE_UNAVAILABLE: { status: HttpStatus.SERVICE_UNAVAILABLE, message: 'the database is unavailable; retry later' },
  SIGNUP_HOOK_UNAVAILABLE: { status: HttpStatus.SERVICE_UNAVAILABLE, message: 'sign-up refused: the validate webhook did not answer in time or could not be reached; retry later' },
  SERVER_BUSY: { status: HttpStatus.SERVICE_UNAVAILABLE, message: 'too many password checks in progress; retry after the time in Retry-After' },
} as const satisfies Record<string, { status: HttpStatus; message: string }>;

export type ErrorCode = keyof typeof ERRORS;
