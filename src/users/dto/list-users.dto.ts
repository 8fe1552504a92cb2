import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsRfc3339 } from '../../common/validation/validators';

/** PostgreSQL's OFFSET is a bigint, but a page this deep is a mistake, not a request. */
const MAX_OFFSET = 2_147_483_647;
import { USER_ROLES, UserRole, UserStatus } from '../entities/user.entity';

const ORDERS = ['created_at', 'updated_at', 'first_name', 'last_name', 'username', 'email'] as const;
export type UserOrder = (typeof ORDERS)[number];

class PageQueryDto {
  /** @example 0 */
  // Optional, with a default: the plugin would call a property without `?` required.
  @ApiPropertyOptional({ default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_OFFSET)
  offset: number = 0;

  /** @example 10 */
  @ApiPropertyOptional({ default: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 10;

  /**
   * Keyset paging: the `next_cursor` of the page before, to get the page after it. Opaque; valid only
   * with the `order` and `dir` of the page it came from (the filters may change), and only with `offset`
   * 0. A deep page by cursor costs what the first page costs; by `offset` it costs every row skipped.
   */
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor must be a next_cursor of an earlier page' })
  cursor?: string;

  /** Sent by SuperMQ's SDKs on every page request (`false` unless asked); ignored: users carry their metadata. */
  @ApiProperty({ enum: ['true', 'false'], required: false, deprecated: true })
  @IsOptional()
  @IsIn(['true', 'false'])
  with_metadata?: string;

  /** Sent by SuperMQ's SDKs on every page request; ignored. */
  @ApiProperty({ enum: ['true', 'false'], required: false, deprecated: true })
  @IsOptional()
  @IsIn(['true', 'false'])
  with_attributes?: string;
}

export class ListUsersQueryDto extends PageQueryDto {
  @ApiProperty({ enum: ['enabled', 'disabled', 'deleted', 'all'], required: false, default: 'enabled' })
  @IsOptional()
  @IsIn(['enabled', 'disabled', 'deleted', 'all'])
  status: UserStatus | 'all' = 'enabled';

  /** Case-insensitive substring of the first name. */
  @IsOptional()
  @IsString()
  @Length(1, 254)
  first_name?: string;

  /** Case-insensitive substring of the last name. */
  @IsOptional()
  @IsString()
  @Length(1, 254)
  last_name?: string;

  /** Only users with (`true`) or without (`false`) a verified second factor. */
  @ApiProperty({ enum: ['true', 'false'], required: false })
  @IsOptional()
  @IsIn(['true', 'false'])
  mfa?: 'true' | 'false';

  /** Case-insensitive substring of the first or the last name. */
  @IsOptional()
  @IsString()
  @Length(1, 254)
  name?: string;

  /** Case-insensitive substring of the username. */
  @IsOptional()
  @IsString()
  @Length(1, 32)
  username?: string;

  /** Case-insensitive substring of the e-mail address. */
  @IsOptional()
  @IsString()
  @Length(1, 254)
  email?: string;

  // The filters give their examples in words: Swagger UI's "Try it out" would fill in an @example and filter by it.
  /** `a,b` (say `iot,beta`): users with any of the tags; `a+b`: users with all of them. */
  @IsOptional()
  @IsString()
  @Length(1, 2200)
  tags?: string;

  /** One tag, as SuperMQ's SDKs name the filter; `tags` wins when both are given. */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  tag?: string;

  /** A JSON object the user's metadata must contain, say `{"team":"core"}`. */
  @IsOptional()
  @IsString()
  @MaxLength(16384)
  metadata?: string;

  @IsOptional()
  @IsString()
  @Length(1, 64)
  user_type?: string;

  @ApiProperty({ enum: USER_ROLES, required: false })
  @IsOptional()
  @IsIn(USER_ROLES)
  role?: UserRole;

  /** RFC 3339 instant; created at or after it. */
  @IsOptional()
  @IsRfc3339()
  created_from?: string;

  /** RFC 3339 instant; created at or before it. */
  @IsOptional()
  @IsRfc3339()
  created_to?: string;

  @ApiProperty({ enum: ORDERS, required: false, default: 'created_at' })
  @IsOptional()
  @IsIn(ORDERS)
  order: UserOrder = 'created_at';

  @ApiProperty({ enum: ['asc', 'desc'], required: false, default: 'desc' })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  dir: 'asc' | 'desc' = 'desc';

  /** Answer only the total, with an empty `users`. */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsIn([true, false], { message: 'only_total must be true or false' })
  only_total: boolean = false;
}

export class SearchUsersQueryDto extends PageQueryDto {
  /** Case-insensitive substring of the username (at least 3 characters). */
  @IsOptional()
  @IsString()
  @Length(3, 32)
  username?: string;

  /** Case-insensitive substring of the first name. */
  @IsOptional()
  @IsString()
  @Length(1, 254)
  first_name?: string;

  /** Case-insensitive substring of the last name. */
  @IsOptional()
  @IsString()
  @Length(1, 254)
  last_name?: string;

  /** Prefix of the user id (at least 3 characters). */
  @IsOptional()
  @IsString()
  @Matches(/^[0-9a-fA-F-]{3,36}$/, { message: 'id must be 3–36 characters of a UUID' })
  id?: string;
}
