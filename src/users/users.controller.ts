import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiExtraModels, ApiOkResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { AUTH_ERRORS, ApiErrors, BODY_ERRORS } from '../common/decorators/api-errors.decorator';
import { Audit, RequestAudit } from '../common/decorators/audit.decorator';
import { AllowUnverified, CurrentUser, OptionalAuth, Roles } from '../common/decorators/auth.decorators';
import { IdParam } from '../common/decorators/id-param.decorator';
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

@ApiTags('users')
@ApiBearerAuth()
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
   * Open to anyone while USERS_ALLOW_SELF_REGISTER is true, otherwise admins only. Only an admin may set
   * `role` or `status`.
   */
  @Post()
  @OptionalAuth()
  @ApiErrors(...BODY_ERRORS, ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', 'EMAIL_TAKEN', 'USERNAME_TAKEN')
  async create(@UserObjectBody() dto: CreateUserDto, @CurrentUser() actor: User | undefined, @RequestAudit() audit: Audit, @Res({ passthrough: true }) reply: FastifyReply): Promise<UserDto> {
    const user = await this.users.register(dto, actor, audit);
    reply.header('Location', `/users/${user.id}`);
    return user;
  }

  /**
   * Mail a new verification link to the caller
   *
   * At most one verification mail per address per EMAIL_MIN_INTERVAL (429 with Retry-After).
   */
  @Post('send-verification')
  @HttpCode(HttpStatus.OK)
  @AllowUnverified()
  @ApiErrors(...AUTH_ERRORS, 'ALREADY_VERIFIED', 'TOO_MANY_REQUESTS')
  sendVerification(@CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<MessageDto> {
    return this.verification.resend(actor, audit);
  }

  /**
   * Invite a user (admin)
   *
   * Creates an enabled user without a password and mails them a link to set one (PUT /password/reset
   * with its token), which also verifies the address: 201. An address whose invitation was never taken
   * up gets a new link (the old one stops working): 200 with that user. Any other taken address: 409.
   */
  @Post('invite')
  @Roles('admin')
  @ApiCreatedResponse({ type: UserDto, description: 'The user was created and invited' })
  @ApiOkResponse({ type: UserDto, description: 'The address had a pending invitation: a new link was mailed' })
  @ApiErrors(...BODY_ERRORS, ...AUTH_ERRORS, 'FORBIDDEN', 'EMAIL_TAKEN')
  async invite(@Body() dto: InviteUserDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit, @Res({ passthrough: true }) reply: FastifyReply): Promise<UserDto> {
    const { user, resent } = await this.invitations.invite(dto, actor, audit);
    reply.header('Location', `/users/${user.id}`);
    if (resent) reply.status(200);
    return user;
  }

  /** The caller's own user */
  @Get('profile')
  @AllowUnverified()
  @ApiErrors(...AUTH_ERRORS)
  profile(@CurrentUser() actor: User): UserDto {
    return this.users.profile(actor);
  }

  /** List users (admin), with filters, sorting and pagination */
  @Get()
  @Roles('admin')
  @ApiErrors('VALIDATION_FAILED', ...AUTH_ERRORS, 'FORBIDDEN')
  list(@Query() query: ListUsersQueryDto): Promise<UsersPageDto> {
    return this.users.list(query);
  }

  /** Search enabled users by username, name or id prefix; answers public views */
  @Get('search')
  @ApiErrors('VALIDATION_FAILED', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED')
  search(@Query() query: SearchUsersQueryDto): Promise<PublicUsersPageDto> {
    return this.users.search(query);
  }

  /** View a user: the whole user for themself and admins, the public view for anyone else */
  @Get(':id')
  @ApiExtraModels(UserDto, PublicUserDto)
  @ApiOkResponse({ schema: { oneOf: [{ $ref: getSchemaPath(UserDto) }, { $ref: getSchemaPath(PublicUserDto) }] } })
  @ApiErrors('VALIDATION_FAILED', 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'USER_NOT_FOUND')
  view(@IdParam() id: string, @CurrentUser() actor: User): Promise<UserDto | PublicUserDto> {
    return this.users.view(actor, id);
  }

  /** Update names, metadata and user type (self or admin) */
  @Patch(':id')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', 'USER_NOT_FOUND')
  update(@IdParam() id: string, @UserObjectBody() dto: UpdateUserDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.update(actor, id, dto, audit);
  }

  /** Change the e-mail address (self or admin); the new address is unverified */
  @Patch(':id/email')
  @AllowUnverified()
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'FORBIDDEN', 'USER_NOT_FOUND', 'EMAIL_TAKEN')
  updateEmail(@IdParam() id: string, @UserObjectBody() dto: UpdateEmailDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.updateEmail(actor, id, dto.email, audit);
  }

  /** Change the username (self or admin) */
  @Patch(':id/username')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', 'USER_NOT_FOUND', 'USERNAME_TAKEN')
  updateUsername(@IdParam() id: string, @UserObjectBody() dto: UpdateUsernameDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.updateUsername(actor, id, dto.username, audit);
  }

  /** Change the profile picture URL (self or admin) */
  @Patch(':id/picture')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', 'USER_NOT_FOUND')
  updatePicture(@IdParam() id: string, @UserObjectBody() dto: UpdatePictureDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.updatePicture(actor, id, dto.profile_picture, audit);
  }

  /** Replace the tags (self or admin) */
  @Patch(':id/tags')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', 'USER_NOT_FOUND')
  updateTags(@IdParam() id: string, @UserObjectBody() dto: UpdateTagsDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.updateTags(actor, id, dto.tags, audit);
  }

  /** Change the role (admin); the last enabled admin cannot be demoted */
  @Patch(':id/role')
  @Roles('admin')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'FORBIDDEN', 'USER_NOT_FOUND', 'LAST_ADMIN')
  updateRole(@IdParam() id: string, @UserObjectBody() dto: UpdateRoleDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.updateRole(actor, id, dto.role, audit);
  }

  /** Enable a disabled or deleted user (admin) */
  @Post(':id/enable')
  @HttpCode(HttpStatus.OK)
  @Roles('admin')
  @ApiErrors('VALIDATION_FAILED', 'INVALID_ID', ...AUTH_ERRORS, 'FORBIDDEN', 'USER_NOT_FOUND', 'STATUS_ALREADY_SET')
  enable(@IdParam() id: string, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.setStatus(actor, id, 'enabled', audit);
  }

  /** Disable a user (admin, or the user themself); revokes all their tokens */
  @Post(':id/disable')
  @HttpCode(HttpStatus.OK)
  @ApiErrors('VALIDATION_FAILED', 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', 'USER_NOT_FOUND', 'STATUS_ALREADY_SET', 'LAST_ADMIN')
  disable(@IdParam() id: string, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<UserDto> {
    return this.users.setStatus(actor, id, 'disabled', audit);
  }

  /** Delete a user (self or admin): status `deleted` until the scheduler purges it; revokes all tokens */
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors('VALIDATION_FAILED', 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'FORBIDDEN', 'USER_NOT_FOUND', 'STATUS_ALREADY_SET', 'LAST_ADMIN')
  async remove(@IdParam() id: string, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<void> {
    await this.users.setStatus(actor, id, 'deleted', audit);
  }
}
