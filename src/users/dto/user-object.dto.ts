import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import { ObjectBody } from '../../common/decorators/object-body.decorator';
import { IsMetadata } from '../../common/validation/validators';
import { USER_STATUSES } from '../entities/user.entity';
import { IsUserRole, IsUserStatus } from './user-enums';

/** `credentials` as SuperMQ's SDKs send it: `{}` or `{username, secret}`. */
class UserObjectCredentials {
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  username?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1024)
  secret?: string;
}

/**
 * Every field of the User object: ours (API.md §1) and what SuperMQ's and Magistrala's SDKs put in
 * theirs (they marshal the whole struct: `id`, `credentials`, zero `created_at`/`updated_at`, and
 * `username` in Magistrala's). A body of @UserObjectBody() may carry any of them; those its route does
 * not change are checked against this shape (so a typo inside `credentials` still fails) and ignored.
 */
export class UserObjectDto {
  @IsOptional() @IsString() @MaxLength(64) id?: string;
  @IsOptional() @IsString() @MaxLength(254) first_name?: string;
  @IsOptional() @IsString() @MaxLength(254) last_name?: string;
  @IsOptional() @IsString() @MaxLength(254) email?: string;
  @IsOptional() @IsString() @MaxLength(254) username?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => UserObjectCredentials)
  credentials?: UserObjectCredentials;

  @IsOptional() @IsString({ each: true }) tags?: string[];
  @IsOptional() @IsMetadata() metadata?: Record<string, unknown>;
  @IsOptional() @IsMetadata() private_metadata?: Record<string, unknown>;
  @IsOptional() @IsString() @MaxLength(2048) profile_picture?: string;
  @IsOptional() @IsString() @MaxLength(64) user_type?: string;
  @IsOptional() @IsUserRole() role?: string;
  @IsOptional() @IsUserStatus(USER_STATUSES) status?: string;
  @IsOptional() @IsString() @MaxLength(64) auth_provider?: string;
  @IsOptional() @IsString() @MaxLength(64) verified_at?: string;
  @IsOptional() @IsString() @MaxLength(64) created_at?: string;
  @IsOptional() @IsString() @MaxLength(64) updated_at?: string;
  @IsOptional() @IsString() @MaxLength(64) updated_by?: string;
}

/** A body that may be the whole User object (SuperMQ's SDKs send one on every create and PATCH). */
export const UserObjectBody = () => ObjectBody(UserObjectDto);
