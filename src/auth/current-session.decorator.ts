import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { ACCESS_TOKEN_CLAIMS, AccessTokenClaims } from './access-token';

/** The id of the session (refresh-token family) the caller's access token belongs to. */
export const CurrentSessionId = createParamDecorator(
  (_: unknown, context: ExecutionContext) =>
    (context.switchToHttp().getRequest()[ACCESS_TOKEN_CLAIMS] as AccessTokenClaims | undefined)?.sid,
);
