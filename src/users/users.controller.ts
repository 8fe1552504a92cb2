import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiExtraModels, ApiOkResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { ADMIN_MFA_ERRORS, AUTH_ERRORS, ApiErrors, BODY_ERRORS } from '../common/decorators/api-errors.decorator';
import { ApiAccessToken, ApiTokenOptional } from '../common/decorators/api-security.decorator';
import { Audit, RequestAudit } from '../common/decorators/audit.decorator';
import { AllowUnverified, CurrentUser, OptionalAuth, Roles, SensitiveOperation } from '../common/decorators/auth.decorators';
import { IdParam } from '../common/decorators/id-param.decorator';
import { CurrentSessionId } from '../auth/current-session.decorator';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { MessageDto } from '../common/dto/message.dto';
import { CreateUserDto } from './dto/create-user.dto';
import { InviteUserDto } from './dto/invite-user.dto';
import { ListUsersQueryDto, SearchUsersQueryDto } from './dto/list-users.dto';
import {
  UpdateEmailDto,
  UpdatePictureDto,
  UpdateRoleDto,
  UpdateTagsDto,
  UpdateUserDto,
  UpdateUsernameDto,
} from './dto/update-user.dto';
import { UserObjectBody } from './dto/user-object.dto';
import { PublicUserDto, PublicUsersPageDto, UserDto, UsersPageDto } from './dto/user-response.dto';
import { User } from './entities/user.entity';
import { EmailVerificationService } from './email-verification.service';
import { InvitationsService } from './invitations.service';
import { UsersService } from './users.service';
import { HashesPassword } from './hashing-queue';

@ApiTags('users')
@ApiAccessToken()
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly verification: EmailVerificationService,
    private readonly invitations: InvitationsService,
  ) {}

  /**
   * Register a user
   *
   * @remarks Open to anyone while USERS_ALLOW_SELF_REGISTER is true (no token needed), otherwise admins
   * only. Only an admin may set `role` or `status`; an admin with a second factor needs a recent aal2 (as on admin routes). A verification link is mailed to the address; the
   * answer's `Location` is the new user's URL. With the `validate` webhook on (WEBHOOK_URL), a
   * self-registration is refused when the receiver answers other than 2xx (SIGNUP_REFUSED_BY_HOOK, with
   * its message) or not within WEBHOOK_TIMEOUT_SEC (SIGNUP_HOOK_UNAVAILABLE); nothing is written then.
   */
  @Post()
  @OptionalAuth()
  @RateLimit('signup')
  @HashesPassword()
  @ApiTokenOptional()
  @ApiErrors(...BODY_ERRORS, ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'EMAIL_TAKEN', 'USERNAME_TAKEN', 'SIGNUP_REFUSED_BY_HOOK', 'RATE_LIMITED', 'SIGNUP_HOOK_UNAVAILABLE', 'SERVER_BUSY')
  async createUser(@UserObjectBody() dto: CreateUserDto, @CurrentUser() actor: User | undefined, @RequestAudit() audit: Audit, @Res({ passthrough: true }) reply: FastifyReply): Promise<UserDto> {
    const user = await this.users.register(dto, actor, audit);
    reply.header('Location', `/users/${user.id}`);
    return user;
  }

  /**
   * Mail a new verification link to the caller
   *
   * @remarks At most one verification mail per address per EMAIL_MIN_INTERVAL (429 with Retry-After).
   * Works before the address is verified, which is what it is for.
   */
  @Post('send-verification')
  @RateLimit('email', 'email-account')
  @HttpCode(HttpStatus.OK)
  @AllowUnverified()
  @ApiErrors(...AUTH_ERRORS, 'AAL2_REQUIRED', 'ALREADY_VERIFIED', 'TOO_MANY_REQUESTS', 'RATE_LIMITED')
  sendVerification(@CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<MessageDto> {
    return this.verification.resend(actor, audit);
  }

  /**
   * Invite a user (admin)
   *
   * @remarks Creates an enabled user without a password and mails them a link to set one (PUT /password/reset
   * with its token), which also verifies the address: 201. An address whose invitation was never taken
   * up gets a new link (the old one stops working): 200 with that user. Any other taken address: 409.
   */
  @Post('invite')
  @RateLimit('email', 'email-account')
  @Roles('admin')
  @ApiCreatedResponse({ type: UserDto, description: 'The user was created and invited' })
  @ApiOkResponse({ type: UserDto, description: 'The address had a pending invitation: a new link was mailed' })
  @ApiErrors(...BODY_ERRORS, ...AUTH_ERRORS, 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'EMAIL_TAKEN', 'RATE_LIMITED')
  async inviteUser(@Body() dto: InviteUserDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit, @Res({ passthrough: true }) reply: FastifyReply): Promise<UserDto> {
    const { user, resent } = await this.invitations.invite(dto, actor, audit);
    reply.header('Location', `/users/${user.id}`);
    if (resent) reply.status(200);
    return user;
  }

  /**
   * The caller's own user
   *
   * @remarks The whole user of the access token's owner, also before their address is verified.
   */
  @Get('profile')
  @AllowUnverified()
  @ApiErrors(...AUTH_ERRORS)
  getProfile(@CurrentUser() actor: User): UserDto {
    return this.users.profile(actor);
  }

  /**
   * List users (admin)
   *
   * @remarks Users of one `status` (`enabled` unless asked, `all` for every status), filtered by names,
   * e-mail address, tags, metadata and creation time, sorted by `order`/`dir` (ties broken by id) and
   * paginated by `offset`/`limit`, or by keyset: send a page's `next_cursor` as `cursor` (same
   * `order`/`dir`, offset 0) for the page after it, which costs the same at any depth; `next_cursor` is
   * null on the last page. `total` counts all matches exactly up to USERS_DB_EXACT_TOTAL_LIMIT (default
   * 1,000); past that, or when PostgreSQL's planner expects more, it is the planner's estimate (or a
   * sample's, where the planner's proved far too low) and `total_exact` is false. A cursor that this service did not issue, or issued for another order or
   * listing, is a 400.
   */
  @Get()
  @Roles('admin')
  @ApiErrors('VALIDATION_FAILED', ...AUTH_ERRORS, 'FORBIDDEN', ...ADMIN_MFA_ERRORS)
  listUsers(@Query() query: ListUsersQueryDto): Promise<UsersPageDto> {
    return this.users.list(query);
  }

  /**
   * Search users
   *
   * @remarks Enabled users by username, first or last name (substrings) or id prefix, at least one of
   * them given; answers their public views (no e-mail address or private fields), to any signed-in user.
   * Sorted by username (users without one last), then id; paged by `offset`/`limit` or by `cursor`
   * (a page's `next_cursor`), with `total` and `total_exact` as in GET /users.
   */
  @Get('search')
  @ApiErrors('VALIDATION_FAILED', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED')
  searchUsers(@Query() query: SearchUsersQueryDto): Promise<PublicUsersPageDto> {
    return this.users.search(query);
  }

  /**
   * View a user
   *
   * @remarks The whole user for themself and for admins, the public view for anyone else. Another user's needs an aal2 session
   * from a user with a second factor (403 AAL2_REQUIRED).
   */
  @Get(':id')
  @ApiExtraModels(UserDto, PublicUserDto)
  // anyOf, not oneOf: the public view's fields are a subset of the whole user's.
  @ApiOkResponse({ schema: { anyOf: [{ $ref: getSchemaPath(UserDto) }, { $ref: getSchemaPath(PublicUserDto) }] } })
  @ApiErrors('VALIDATION_FAILED', 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'AAL2_REQUIRED', 'USER_NOT_FOUND')
  getUser(@IdParam() id: string, @CurrentUser() actor: User): Promise<UserDto | PublicUserDto> {
    return this.users.view(actor, id);
  }

  /**
   * Update names, metadata and user type (self or admin)
   *
   * @remarks Changes only the fields sent. The body may be the whole User object, as SuperMQ's SDKs send
   * it: fields this route does not change are ignored, unknown fields refused.
   */
  @Patch(':id')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'USER_NOT_FOUND')
  updateUser(@IdParam() id: string, @UserObjectBody() dto: UpdateUserDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.update(actor, id, dto, audit);
  }

  /**
   * Change the e-mail address (self or admin)
   *
   * @remarks The new address is unverified: a verification link goes to the new address and a notice to the old one. Changing one's own
   * address needs a session signed in within USERS_REAUTH_WINDOW (10 minutes by default), or the
   * current `password` in the body: else 401 REAUTHENTICATION_REQUIRED. An admin changing another
   * user's address needs neither. A caller with a second factor needs a recent one (aal2).
   */
  @Patch(':id/email')
  @AllowUnverified()
  @SensitiveOperation()
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'REAUTHENTICATION_REQUIRED', 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'USER_NOT_FOUND', 'EMAIL_TAKEN', 'SERVER_BUSY')
  updateEmail(
    @IdParam() id: string,
    @UserObjectBody() dto: UpdateEmailDto,
    @CurrentUser() actor: User,
    @CurrentSessionId() sessionId: string | undefined,
    @RequestAudit() audit: Audit,
  ): Promise<UserDto> {
    return this.users.updateEmail(actor, id, dto, sessionId, audit);
  }

  /**
   * Change the username (self or admin)
   *
   * @remarks Usernames are unique: a taken one answers 409 USERNAME_TAKEN. The user can log in with it
   * from then on.
   */
  @Patch(':id/username')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'USER_NOT_FOUND', 'USERNAME_TAKEN')
  updateUsername(@IdParam() id: string, @UserObjectBody() dto: UpdateUsernameDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.updateUsername(actor, id, dto.username, audit);
  }

  /**
   * Change the profile picture (self or admin)
   *
   * @remarks Stores the picture's URL; the service does not fetch it.
   */
  @Patch(':id/picture')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'USER_NOT_FOUND')
  updateProfilePicture(@IdParam() id: string, @UserObjectBody() dto: UpdatePictureDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.updatePicture(actor, id, dto.profile_picture, audit);
  }

  /**
   * Replace the tags (self or admin)
   *
   * @remarks The list sent replaces the user's tags; an empty list, or none, clears them.
   */
  @Patch(':id/tags')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'USER_NOT_FOUND')
  updateTags(@IdParam() id: string, @UserObjectBody() dto: UpdateTagsDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.updateTags(actor, id, dto.tags ?? [], audit);
  }

  /**
   * Change the role (admin)
   *
   * @remarks `user` or `admin`. The last enabled admin cannot be demoted (409 LAST_ADMIN).
   */
  @Patch(':id/role')
  @Roles('admin')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'USER_NOT_FOUND', 'LAST_ADMIN')
  updateRole(@IdParam() id: string, @UserObjectBody() dto: UpdateRoleDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.updateRole(actor, id, dto.role, audit);
  }

  /**
   * Enable a user (admin)
   *
   * @remarks Brings back a disabled user, or a deleted one that has not been purged yet.
   */
  @Post(':id/enable')
  @HttpCode(HttpStatus.OK)
  @Roles('admin')
  @ApiErrors('VALIDATION_FAILED', 'INVALID_ID', ...AUTH_ERRORS, 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'USER_NOT_FOUND', 'STATUS_ALREADY_SET')
  enableUser(@IdParam() id: string, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.setStatus(actor, id, 'enabled', audit);
  }

  /**
   * Disable a user (admin, or the user themself)
   *
   * @remarks A disabled user cannot log in; all their tokens are revoked at once. The last enabled admin
   * cannot be disabled (409 LAST_ADMIN).
   */
  @Post(':id/disable')
  @HttpCode(HttpStatus.OK)
  @ApiErrors('VALIDATION_FAILED', 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'USER_NOT_FOUND', 'STATUS_ALREADY_SET', 'LAST_ADMIN')
  disableUser(@IdParam() id: string, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.setStatus(actor, id, 'disabled', audit);
  }

  /**
   * Delete a user (self or admin)
   *
   * @remarks The user gets the status `deleted` until the scheduler purges it, and can be enabled again
   * until then; all their tokens are revoked at once.
   */
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors('VALIDATION_FAILED', 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'USER_NOT_FOUND', 'STATUS_ALREADY_SET', 'LAST_ADMIN')
  async deleteUser(@IdParam() id: string, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<void> {
    await this.users.setStatus(actor, id, 'deleted', audit);
  }
}
