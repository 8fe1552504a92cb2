import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { AuthGuard as PassportAuthGuard } from '@nestjs/passport';
import { FastifyRequest } from 'fastify';
import { authConfig } from '../../config/auth.config';
import { ALLOW_UNVERIFIED, IS_PUBLIC, OPTIONAL_AUTH, ROLES, Role } from '../../common/decorators/auth.decorators';
import { AppError } from '../../common/errors/app-error';
import { User } from '../../users/entities/user.entity';

/**
 * The global guard (APP_GUARD): every HTTP route needs a valid access token unless it is @Public();
 * then @Roles() and the e-mail verification rule (USERS_ALLOW_UNVERIFIED_USER) are applied.
 */
@Injectable()
export class AuthGuard extends PassportAuthGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;

    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: User }>();
    const optional = this.reflector.getAllAndOverride<boolean>(OPTIONAL_AUTH, targets);
    if (optional && !request.headers.authorization) return true;

    await super.canActivate(context);
    if (optional) return true;

    const user = request.user as User;
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

  /** Passport's outcome: our own errors pass through, JWT failures become stable codes. */
  override handleRequest<T>(error: unknown, user: T, info: unknown): T {
    if (error) throw error;
    if (user) return user;
    if (info instanceof Error && info.name === 'TokenExpiredError') throw new AppError('TOKEN_EXPIRED');
    if (info instanceof Error && info.message === 'No auth token') throw new AppError('TOKEN_MISSING');
    throw new AppError('TOKEN_INVALID');
  }
}
