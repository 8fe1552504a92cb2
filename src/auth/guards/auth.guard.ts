import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import type passport from 'passport';
import { ALLOW_AAL1, ALLOW_UNVERIFIED, IS_PUBLIC, OPTIONAL_AUTH, ROLES, Role, SENSITIVE } from '../../common/decorators/auth.decorators';
import { AppError } from '../../common/errors/app-error';
import { runStrategy } from '../../common/passport/passport-runner';
import { User } from '../../users/entities/user.entity';
import { UsersService } from '../../users/users.service';
import { MfaPolicy } from '../../mfa/mfa-policy.service';
import { ACCESS_TOKEN_CLAIMS, ACCESS_TOKEN_STRATEGY, AccessTokenClaims, assuranceOf } from '../access-token';

/** A route's auth metadata, read once per handler (the reflector's lookups cost every request otherwise). */
interface RouteAuth {
  isPublic: boolean;
  optional: boolean;
  roles: Role[] | undefined;
  allowUnverified: boolean;
  sensitive: boolean;
  allowAal1: boolean;
}

/**
 * The global guard (APP_GUARD): every HTTP route needs a valid access token (the passport-jwt strategy
 * of accessTokenStrategy) unless it is @Public() or @OptionalAuth() without one; then @Roles(), the e-mail verification rule
 * (UsersService.mustVerifyFirst: USERS_ALLOW_UNVERIFIED_USER) and the assurance rules of MfaPolicy (#16): on
 * admin routes, on an admin's changes to another user's account and on @SensitiveOperation() routes a recent
 * aal2, and for a user with a verified factor an aal2 session on anything but reading their own resources
 * and the @AllowAal1() routes (on @OptionalAuth() routes with a token, the assurance rules only).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  /** By handler, then by controller class (a handler inherited by two controllers may differ by class). */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteAuth>>();

  constructor(
    private readonly reflector: Reflector,
    @Inject(ACCESS_TOKEN_STRATEGY) private readonly strategy: passport.Strategy,
    private readonly users: UsersService,
    private readonly mfa: MfaPolicy,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const { isPublic, optional, roles, allowUnverified, sensitive, allowAal1 } = this.routeAuth(context);
    if (isPublic) return true;

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (optional && !request.headers.authorization) return true;

    const user = await this.authenticate(request);
    Object.assign(request, { user });
    if (!optional) {
      if (roles && !roles.includes(user.role)) throw new AppError('FORBIDDEN', `requires role ${roles.join(' or ')}`);
      if (!allowUnverified) this.users.assertMayActUnverified(user);
    }
    this.mfa.assertRequestAssurance(user, assuranceOf((request as unknown as Record<string, AccessTokenClaims | undefined>)[ACCESS_TOKEN_CLAIMS]), {
      method: request.method,
      // An admin's token on an @OptionalAuth() route (POST /users, which may then set role and status) is an admin action.
      admin: optional ? user.role === 'admin' : !!roles?.includes('admin') || this.actsOnAnotherAccount(request, user),
      sensitive,
      allowAal1,
      targetId: idParam(request),
    });
    return true;
  }

  private routeAuth(context: ExecutionContext): RouteAuth {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byClass = this.routes.get(handler);
    if (!byClass) this.routes.set(handler, (byClass = new WeakMap()));
    let route = byClass.get(controller);
    if (!route) {
      const targets = [handler, controller];
      const flag = (key: string) => this.reflector.getAllAndOverride<boolean>(key, targets) === true;
      route = {
        isPublic: flag(IS_PUBLIC),
        optional: flag(OPTIONAL_AUTH),
        roles: this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets),
        allowUnverified: flag(ALLOW_UNVERIFIED),
        sensitive: flag(SENSITIVE),
        allowAal1: flag(ALLOW_AAL1),
      };
      byClass.set(controller, route);
    }
    return route;
  }

  /** An admin changing another user's account through a self-or-admin route (`:id` not their own): an admin action. */
  private actsOnAnotherAccount(request: FastifyRequest, user: User): boolean {
    const id = idParam(request);
    return user.role === 'admin' && request.method !== 'GET' && request.method !== 'HEAD' && id !== undefined && id !== user.id;
  }

  /** The user of the request's access token, or why not: the verifier's refusal, or no token at all. */
  private async authenticate(request: FastifyRequest): Promise<User> {
    const outcome = await runStrategy(this.strategy, request);
    if (outcome.kind === 'success') return outcome.user as User;
    const refusal = outcome.kind === 'fail' ? outcome.info : outcome.kind === 'error' ? outcome.error : undefined;
    if (refusal instanceof AppError || outcome.kind === 'error') throw refusal;
    throw new AppError('TOKEN_MISSING'); // (passport-jwt's "No auth token")
  }
}

/** The route's `:id` (a user's id on the self-or-admin routes), when it has one. */
function idParam(request: FastifyRequest): string | undefined {
  const id = (request.params as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}
