import { SetMetadata, createParamDecorator, ExecutionContext } from '@nestjs/common';

export const IS_PUBLIC = 'auth:public';
export const OPTIONAL_AUTH = 'auth:optional';
export const ROLES = 'auth:roles';
export const ALLOW_UNVERIFIED = 'auth:allow-unverified';
export const SENSITIVE = 'auth:sensitive';
export const ALLOW_AAL1 = 'auth:allow-aal1';

export type Role = 'user' | 'admin';

/** No authentication: the global guard lets the request through. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Authenticates a bearer token when one is sent, and lets anonymous requests through otherwise. */
export const OptionalAuth = () => SetMetadata(OPTIONAL_AUTH, true);

/** Only callers with one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

/** Reachable by a user whose e-mail is not verified even when verification is required. */
export const AllowUnverified = () => SetMetadata(ALLOW_UNVERIFIED, true);

/**
 * A sensitive operation (#16): a caller with a verified second factor needs a session whose second
 * factor was given within USERS_MFA_REAUTH_WINDOW (aal2), else 403 AAL2_REQUIRED (see MfaPolicy).
 * Admin routes (@Roles('admin')) are sensitive without saying so.
 */
export const SensitiveOperation = () => SetMetadata(SENSITIVE, true);

/**
 * A route an `aal1` session of a user with a verified second factor may use although it changes
 * something (#16): stepping up to `aal2` and ending a session. Any other such request is refused with
 * 403 AAL2_REQUIRED unless it only reads the user's own resources (GET/HEAD; see MfaPolicy).
 */
export const AllowAal1 = () => SetMetadata(ALLOW_AAL1, true);

/** The authenticated caller, as loaded by the auth guard (undefined on anonymous requests). */
export const CurrentUser = createParamDecorator((_: unknown, context: ExecutionContext) => context.switchToHttp().getRequest().user);
