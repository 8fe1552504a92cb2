import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { ACCESS_TOKEN_CLAIMS, AccessTokenClaims, Assurance, assuranceOf } from './access-token';

/** The id of the session (refresh-token family) the caller's access token belongs to. */
export const CurrentSessionId = createParamDecorator(
  (_: unknown, context: ExecutionContext) =>
    (context.switchToHttp().getRequest()[ACCESS_TOKEN_CLAIMS] as AccessTokenClaims | undefined)?.sid,
);

/** How the caller's session signed in (`aal`, `amr`), from their access token. */
export const CurrentAssurance = createParamDecorator((_: unknown, context: ExecutionContext): Assurance =>
  assuranceOf(context.switchToHttp().getRequest()[ACCESS_TOKEN_CLAIMS] as AccessTokenClaims | undefined),
);

/** The caller's verified access-token claims. */
export const CurrentClaims = createParamDecorator((_: unknown, context: ExecutionContext) => context.switchToHttp().getRequest()[ACCESS_TOKEN_CLAIMS] as AccessTokenClaims);
