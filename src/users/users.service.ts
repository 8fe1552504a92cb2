import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { DataSource, EntityManager } from 'typeorm';
import { authConfig } from '../config/auth.config';
import { Audit } from '../common/decorators/audit.decorator';
import { AppError } from '../common/errors/app-error';
import { EventOperation } from '../events/event-operations';
import { LinkBuilder, LinkMailer } from '../mail/link-mailer.service';
import { DomainEvent, EventsService } from '../events/events.service';
import { SignupHook } from '../webhooks/signup-hook.service';
import { CreateUserDto } from './dto/create-user.dto';
import { ListUsersQueryDto, SearchUsersQueryDto } from './dto/list-users.dto';
import { UpdateEmailDto, UpdateUserDto } from './dto/update-user.dto';
import { PublicUserDto, PublicUsersPageDto, UserDto, UsersPageDto } from './dto/user-response.dto';
import { User, UserRole, UserStatus } from './entities/user.entity';
import { EmailVerificationService } from './email-verification.service';
import { CursorPosition, CursorScope, ListCursors } from './list-cursor';
import { PasswordService } from './password.service';
import { Page, UserChanges, UsersRepository, parseTags } from './users.repository';
import { toPublicUser, toUser } from './users.mapper';

const isAdmin = (actor: User | undefined) => actor?.role === 'admin';

/** A registration: POST /users's body, or one without a username (the GoTrue API's sign-up, by e-mail address alone). */
export type Registration = Omit<CreateUserDto, 'credentials'> & { credentials: { username?: string; secret: string } };

const STATUS_EVENTS: Record<UserStatus, EventOperation> = { enabled: 'user.enable', disabled: 'user.disable', deleted: 'user.delete' };

@Injectable()
export class UsersService {
  private listCursors?: ListCursors;

  constructor(
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly dataSource: DataSource,
    private readonly events: EventsService,
    private readonly verification: EmailVerificationService,
    private readonly linkMailer: LinkMailer,
    private readonly signupHook: SignupHook,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {}

  /**
   * The e-mail verification rule (USERS_ALLOW_UNVERIFIED_USER=false): a user, not an admin, whose address is
   * not verified may only verify it (the routes marked @AllowUnverified); the guard applies it to every
   * request, and an API that signs in with a session ready for use (the GoTrue API's sign-in and sign-up)
   * before issuing one.
   */
  mustVerifyFirst(user: Pick<User, 'role' | 'verifiedAt'>): boolean {
    return !this.auth.allowUnverifiedUser && user.role !== 'admin' && !user.verifiedAt;
  }

  /** The verification rule as a refusal: EMAIL_NOT_VERIFIED. */
  assertMayActUnverified(user: Pick<User, 'role' | 'verifiedAt'>): void {
    if (this.mustVerifyFirst(user)) throw new AppError('EMAIL_NOT_VERIFIED');
  }

  /** Self-registration, or creation by an admin (the only caller who may set role and status). `link`: see LinkMailer.send. */
  async register(dto: Registration, actor: User | undefined, audit: Audit, link?: LinkBuilder): Promise<UserDto> {
    if (!this.auth.allowSelfRegister && !isAdmin(actor)) {
      throw actor ? new AppError('FORBIDDEN', 'self-registration is disabled; only an admin may create users') : new AppError('TOKEN_MISSING');
    }
    if (!isAdmin(actor) && ((dto.role ?? 'user') !== 'user' || (dto.status ?? 'enabled') !== 'enabled')) {
      throw new AppError('FORBIDDEN', 'only an admin may set role or status');
    }
    this.passwords.assertAcceptable(dto.credentials.secret, 'credentials.secret', { email: dto.email, username: dto.credentials.username });
    const passwordHash = await this.passwords.hash(dto.credentials.secret);
    return this.dataSource.transaction(async (manager) => {
      const user = await this.users.insert(
        {
          firstName: dto.first_name,
          lastName: dto.last_name,
          email: dto.email,
          username: dto.credentials.username,
          passwordHash,
          tags: dto.tags ?? [],
          metadata: dto.metadata ?? {},
          privateMetadata: dto.private_metadata ?? {},
          profilePicture: dto.profile_picture ?? null,
          userType: dto.user_type ?? null,
          role: dto.role ?? 'user',
          status: dto.status ?? 'enabled',
          updatedBy: actor?.id ?? null,
        },
        manager,
      );
      // A sign-up (not an admin's creation) asks the validate webhook first; its refusal rolls all this back.
      if (!isAdmin(actor)) await this.signupHook.validate(user);
      const view = toUser(user);
      const created: DomainEvent = { operation: 'user.create', userId: user.id, audit, data: { ...view } };
      await this.events.record(manager, created, ...(await this.verificationEvents(manager, user, audit, link)));
      return view;
    });
  }

  profile(actor: User): UserDto {
    return toUser(actor);
  }

  /** The whole user for themself and admins; the public view of an enabled user for anyone else. */
  async view(actor: User, id: string): Promise<UserDto | PublicUserDto> {
    if (actor.id === id) return toUser(actor);
    const user = await this.users.findById(id);
    if (user && isAdmin(actor)) return toUser(user);
    if (user?.status === 'enabled') return toPublicUser(user);
    throw new AppError('USER_NOT_FOUND');
  }

  /** The public view of an enabled user (for other services, over NATS). */
  async publicView(id: string): Promise<PublicUserDto> {
    const user = await this.users.findById(id);
    if (user?.status !== 'enabled') throw new AppError('USER_NOT_FOUND');
    return toPublicUser(user);
  }

  async list(query: ListUsersQueryDto): Promise<UsersPageDto> {
    if (query.metadata !== undefined) query.metadata = this.parseMetadataFilter(query.metadata);
    query.tags ??= query.tag;
    if (query.tags !== undefined && parseTags(query.tags).tags.length === 0) {
      throw new AppError('VALIDATION_FAILED', 'tags must name at least one tag', [{ field: 'tags', problem: 'must name at least one tag' }]);
    }
    const page = await this.users.list(query, this.cursorPosition('list', query.order, query.dir, query));
    return { ...this.pageFields('list', query.order, query.dir, query, page), users: page.items.map(toUser) };
  }

  async search(query: SearchUsersQueryDto): Promise<PublicUsersPageDto> {
    if (![query.username, query.first_name, query.last_name, query.id].some((v) => v !== undefined)) {
      throw new AppError('VALIDATION_FAILED', 'give at least one of username, first_name, last_name or id');
    }
    const page = await this.users.search(query, this.cursorPosition('search', 'username', 'asc', query));
    return { ...this.pageFields('search', 'username', 'asc', query, page), users: page.items.map(toPublicUser) };
  }

  private get cursors(): ListCursors {
    return (this.listCursors ??= new ListCursors(this.auth.secretKey, this.auth.previousSecretKey));
  }

  /** The position a `cursor` parameter stands for; a cursor beside a non-zero offset is refused (which of the two would win?). */
  private cursorPosition(scope: CursorScope, order: string, dir: 'asc' | 'desc', query: { cursor?: string; offset: number }): CursorPosition | undefined {
    if (query.cursor === undefined) return undefined;
    if (query.offset !== 0) {
      throw new AppError('VALIDATION_FAILED', 'give cursor or offset, not both', [{ field: 'offset', problem: 'must be 0 with a cursor' }]);
    }
    return this.cursors.decode(query.cursor, scope, order, dir);
  }

  private pageFields(scope: CursorScope, order: string, dir: 'asc' | 'desc', query: { offset: number; limit: number }, page: Page<unknown>) {
    return {
      total: page.total,
      total_exact: page.totalExact,
      offset: query.offset,
      limit: query.limit,
      next_cursor: page.next ? this.cursors.encode(scope, order, dir, page.next) : null,
    };
  }

  async update(actor: User, id: string, dto: UpdateUserDto, audit: Audit): Promise<UserDto> {
    const changes: UserChanges = {
      firstName: dto.first_name,
      lastName: dto.last_name,
      metadata: dto.metadata,
      privateMetadata: dto.private_metadata,
      userType: dto.user_type,
    };
    const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    if (Object.keys(defined).length === 0) {
      throw new AppError('VALIDATION_FAILED', 'give at least one field to update');
    }
    const fields = (Object.keys(dto) as (keyof UpdateUserDto)[]).filter((field) => dto[field] !== undefined);
    return this.change(actor, id, defined, audit, 'user.update', fields);
  }

  /**
   * A new address is unverified until the user verifies it again: a verification mail goes to it, and
   * a notice to the old one (with where to report a change its owner did not make). Changing one's
   * own address needs a recent login or the current password (#8 finding 3): a leaked access token
   * alone must not be enough to move the account to another mailbox. An admin changing another
   * user's address needs neither.
   */
  async updateEmail(actor: User, id: string, dto: UpdateEmailDto, sessionId: string | undefined, audit: Audit, link?: LinkBuilder): Promise<UserDto> {
    this.assertSelfOrAdmin(actor, id);
    if (actor.id === id) await this.assertRecentlyAuthenticated(actor, sessionId, dto.password);
    return this.dataSource.transaction(async (manager) => {
      const before = await this.users.findForUpdate(manager, id);
      if (!before) throw new AppError('USER_NOT_FOUND');
      // In an UPDATE the right-hand `email` is the old value: verification survives only a no-op change.
      const changes: UserChanges = { email: dto.email, verifiedAt: () => 'CASE WHEN email = :email THEN verified_at END', updatedBy: actor.id };
      const user = (await this.users.update(id, changes, { manager, parameters: { email: dto.email } })) as User;
      if (before.email !== user.email) await this.linkMailer.sendEmailChanged(manager, before, user.email);
      return this.recorded(manager, 'user.update_email', user, audit, ['email', 'verified_at'], await this.verificationEvents(manager, user, audit, link));
    });
  }

  /** A login within USERS_REAUTH_WINDOW (the session the token belongs to), or the right current password. */
  async assertRecentlyAuthenticated(actor: User, sessionId: string | undefined, password: string | undefined): Promise<void> {
    if (password !== undefined) {
      const current = await this.users.findByIdWithHash(actor.id);
      if (await this.passwords.verify(current?.passwordHash, password)) return;
      throw new AppError('REAUTHENTICATION_REQUIRED', 'password does not match');
    }
    if (sessionId && (await this.users.sessionIsRecent(actor.id, sessionId, this.auth.reauthWindowMs))) return;
    throw new AppError('REAUTHENTICATION_REQUIRED', 'changing your own e-mail address needs a recent sign-in: sign in again, or give your current password as `password`');
  }

  updateUsername(actor: User, id: string, username: string, audit: Audit): Promise<UserDto> {
    return this.change(actor, id, { username }, audit, 'user.update_username', ['credentials']);
  }

  updatePicture(actor: User, id: string, profilePicture: string, audit: Audit): Promise<UserDto> {
    return this.change(actor, id, { profilePicture }, audit, 'user.update_picture', ['profile_picture']);
  }

  updateTags(actor: User, id: string, tags: string[], audit: Audit): Promise<UserDto> {
    return this.change(actor, id, { tags }, audit, 'user.update_tags', ['tags']);
  }

  /** Admin only (enforced by the route). The last enabled admin cannot be demoted. */
  async updateRole(actor: User, id: string, role: UserRole, audit: Audit): Promise<UserDto> {
    return this.dataSource.transaction(async (manager) => {
      const admins = await this.users.lockEnabledAdmins(manager);
      if (role === 'user' && admins.length === 1 && admins[0] === id) throw new AppError('LAST_ADMIN');
      const user = await this.users.update(id, { role, updatedBy: actor.id }, { manager });
      if (!user) throw new AppError('USER_NOT_FOUND');
      return this.recorded(manager, 'user.update_role', user, audit, ['role']);
    });
  }

  /**
   * Enables, disables or (softly) deletes a user. Disabling and deleting revoke every token the user
   * holds: access tokens through `tokens_revoked_at`, which the auth guard and refresh both check.
   */
  async setStatus(actor: User, id: string, status: UserStatus, audit: Audit): Promise<UserDto> {
    this.assertSelfOrAdmin(actor, id);
    return this.dataSource.transaction(async (manager) => {
      const admins = await this.users.lockEnabledAdmins(manager);
      const current = await manager.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!current) throw new AppError('USER_NOT_FOUND');
      if (current.status === status) throw new AppError('STATUS_ALREADY_SET', `user is already ${status}`);
      if (status !== 'enabled' && admins.length === 1 && admins[0] === id) throw new AppError('LAST_ADMIN');
      const revoke = status !== 'enabled';
      const user = await this.users.update(
        id,
        {
          status,
          updatedBy: actor.id,
          deletedAt: status === 'deleted' ? () => 'now()' : null,
          // The clock under the row lock, as refresh tokens are dated (RefreshTokensRepository).
          ...(revoke ? { tokensRevokedAt: () => 'clock_timestamp()' } : {}),
        },
        { manager },
      );
      return this.recorded(manager, STATUS_EVENTS[status], user as User, audit, ['status']);
    });
  }

  /** For the auth module: the caller's own user, with the hash, for a password check. */
  findWithHash(id: string): Promise<User | null> {
    return this.users.findByIdWithHash(id);
  }

  assertSelfOrAdmin(actor: User, id: string): void {
    if (actor.id !== id && !isAdmin(actor)) throw new AppError('FORBIDDEN', 'you may only change your own account');
  }

  /**
   * One UPDATE of a user and its event, in one transaction; `fields` are the event's changed fields.
   * `then` does what the change entails (in the transaction) and answers the events that go with it.
   */
  private async change(
    actor: User,
    id: string,
    changes: UserChanges,
    audit: Audit,
    operation: EventOperation,
    fields: (keyof UserDto)[],
    { parameters, then }: { parameters?: Record<string, unknown>; then?: (manager: EntityManager, user: User) => Promise<DomainEvent[]> } = {},
  ): Promise<UserDto> {
    this.assertSelfOrAdmin(actor, id);
    return this.dataSource.transaction(async (manager) => {
      const user = await this.users.update(id, { ...changes, updatedBy: actor.id }, { manager, parameters });
      if (!user) throw new AppError('USER_NOT_FOUND');
      return this.recorded(manager, operation, user, audit, fields, (await then?.(manager, user)) ?? []);
    });
  }

  /** Records the event of a change (its fields as the API shows them, plus `updated_by`), and `more`, and answers the user. */
  private async recorded(
    manager: EntityManager,
    operation: EventOperation,
    user: User,
    audit: Audit,
    fields: (keyof UserDto)[],
    more: DomainEvent[] = [],
  ): Promise<UserDto> {
    const view = toUser(user);
    const data = Object.fromEntries([...fields, 'updated_by' as const].map((field) => [field, view[field]]));
    await this.events.record(manager, { operation, userId: user.id, audit, data }, ...more);
    return view;
  }

  /** A verification mail for an unverified user (throttled: none if one went out a moment ago). */
  private async verificationEvents(manager: EntityManager, user: User, audit: Audit, link?: LinkBuilder): Promise<DomainEvent[]> {
    if (user.verifiedAt) return [];
    const queued = await this.verification.queue(manager, user, audit, link);
    return 'event' in queued ? [queued.event] : [];
  }

  private parseMetadataFilter(raw: string): string {
    try {
      const value: unknown = JSON.parse(raw);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return JSON.stringify(value);
    } catch {
      // reported below
    }
    throw new AppError('VALIDATION_FAILED', 'metadata must be a JSON object', [{ field: 'metadata', problem: 'must be a JSON object' }]);
  }
}
