import { ApiProperty } from '@nestjs/swagger';
import { USER_ROLES, USER_STATUSES, UserRole, UserStatus } from '../entities/user.entity';

export class CredentialsViewDto {
  /** @example ada */
  username: string | null;
}

/** What anyone allowed to see a user sees. */
export class PublicUserDto {
  /** @example c0b0c68c-5b93-4a93-8f1a-5d63a3f5c3c7 */
  id: string;
  /** @example Ada */
  first_name: string;
  /** @example Lovelace */
  last_name: string;
  credentials: CredentialsViewDto;
  /** @example https://example.com/ada.png */
  profile_picture: string | null;
  /** @example {"team":"core"} */
  metadata: Record<string, unknown>;
}

/** The whole user: shown to the user themself and to admins. */
export class UserDto extends PublicUserDto {
  /** @example ada@example.com */
  email: string;
  /** @example ["iot","beta"] */
  tags: string[];
  /** @example {"plan":"pro"} */
  private_metadata: Record<string, unknown>;
  @ApiProperty({ enum: USER_ROLES })
  role: UserRole;
  @ApiProperty({ enum: USER_STATUSES })
  status: UserStatus;
  /** Set for users created through an OAuth provider. @example null */
  auth_provider: string | null;
  /** @example customer */
  user_type: string | null;
  verified_at: string | null;
  /** Whether the user has a verified second factor (TOTP): their password logins answer an MFA challenge. @example false */
  mfa: boolean;
  created_at: string;
  updated_at: string;
  updated_by: string | null;
}

/** The paging fields of GET /users and GET /users/search. */
export class PageFieldsDto {
  /**
   * The number of matches (offset and cursor alike). A page by offset that is not full holds the last
   * matches: then its offset plus its rows, exact. Otherwise, when PostgreSQL's planner expects more than
   * USERS_DB_EXACT_TOTAL_LIMIT (default 1,000) matches, its estimate, not counted; otherwise counted up to
   * the limit + 1: exact at or below the limit, else the limit + 1; or, when a username, e-mail or
   * metadata filter matches far more than the planner expected, a sample of the table's pages scaled to
   * the whole. `total_exact` says which: a total over the limit is never exact.
   * @example 1
   */
  total: number;
  /** Whether `total` is an exact count (true), or an estimate or a bound for more than USERS_DB_EXACT_TOTAL_LIMIT matches (false). */
  total_exact: boolean;
  /** @example 0 */
  offset: number;
  /** @example 10 */
  limit: number;
  /**
   * Send as `cursor` (same `order` and `dir`) for the page after this one; null on the last page. Opaque.
   * @example null
   */
  next_cursor: string | null;
}

export class UsersPageDto extends PageFieldsDto {
  users: UserDto[];
}

export class PublicUsersPageDto extends PageFieldsDto {
  users: PublicUserDto[];
}
