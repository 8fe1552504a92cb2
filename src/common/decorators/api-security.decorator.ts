import { ApiSecurity, DocumentBuilder } from '@nestjs/swagger';

type SecurityScheme = Parameters<DocumentBuilder['addSecurity']>[1];

/**
 * The document's security schemes: the access token and the refresh token under the names of SuperMQ's
 * users.yaml (`bearerAuth`, `refreshAuth`), so that Swagger UI's Authorize dialog offers both, and the
 * mailed link's token that PUT /password/reset takes as a bearer token (as SuperMQ's SDK sends it).
 */
export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'The `access_token` of POST /users/tokens/issue: `Authorization: Bearer <access_token>`.',
  },
  refreshAuth: {
    type: 'http',
    scheme: 'bearer',
    description: 'The `refresh_token` of POST /users/tokens/issue, for POST /users/tokens/refresh only: `Authorization: Bearer <refresh_token>`.',
  },
  passwordResetAuth: {
    type: 'http',
    scheme: 'bearer',
    description: "The `token` of a password-reset or invitation mail's link, for PUT /password/reset only.",
  },
} satisfies Record<string, SecurityScheme>;

/** Sends the caller's access token. */
export const ApiAccessToken = () => ApiSecurity('bearerAuth');
/** Sends a refresh token (POST /users/tokens/refresh). */
export const ApiRefreshToken = () => ApiSecurity('refreshAuth');
/** Sends a mailed link's token (PUT /password/reset). */
export const ApiPasswordResetToken = () => ApiSecurity('passwordResetAuth');
/**
 * The token of the other requirements may also be left out: it is sent in the body instead, or the route
 * serves anonymous callers too. Write it above them (decorators apply bottom-up) so that it comes last.
 */
export const ApiTokenOptional = () => ApiSecurity({});
