import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { authConfig } from '../../config/auth.config';
import { ALLOW_UNVERIFIED, IS_PUBLIC, OPTIONAL_AUTH, ROLES, Role } from '../../common/decorators/auth.decorators';
import { AppError } from '../../common/errors/app-error';
import { ACCESS_COOKIE, readCookie } from '../../common/session-cookies';
import { ACCESS_TOKEN_CLAIMS } from '../access-token';
import { AccessTokenVerifier } from '../access-token-verifier.service';
import { bearerToken } from '../bearer-token';

/**
 * The access token of a request: the bearer token, else the `access_token` cookie of an OAuth sign-in
 * (see OAuthService) on GET and HEAD only: a cookie goes with every request to us, also one that
 * another site makes the browser send, so it may read but never change anything (no CSRF). Changes
 * take the token as a bearer token.
 */
function accessTokenOf(request: FastifyRequest): string | undefined {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer !== undefined) return bearer;
  return request.method === 'GET' || request.method === 'HEAD' ? readCookie(request, ACCESS_COOKIE) || undefined : undefined;
}

/**
 * The global guard (APP_GUARD): every HTTP route needs a valid access token (AccessTokenVerifier)
 * unless it is @Public(); then @Roles() and the e-mail verification rule (USERS_ALLOW_UNVERIFIED_USER) are applied.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: AccessTokenVerifier,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const optional = this.reflector.getAllAndOverride<boolean>(OPTIONAL_AUTH, targets);
    if (optional && !request.headers.authorization) return true;

    const token = accessTokenOf(request);
    if (token === undefined) throw new AppError('TOKEN_MISSING');
    const { user, claims } = await this.verifier.verify(token);
    Object.assign(request, { user, [ACCESS_TOKEN_CLAIMS]: claims });
    if (optional) return true;

    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(user.role)) throw new AppError('FORBIDDEN', `requires role ${roles.join(' or ')}`);
    if (
      !this.auth.allowUnverifiedUser &&
      user.role !== 'admin' &&
      !user.verifiedAt &&
      !this.reflector.getAllAndOverride<boolean>(ALLOW_UNVERIFIED, targets)
    ) {
      throw new AppError('EMAIL_NOT_VERIFIED');
    }
    return true;
  }
}
