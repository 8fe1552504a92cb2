import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsObject, IsOptional, IsString, IsUrl, MaxLength, ValidateNested } from 'class-validator';
import {
  IsMetadata,
  IsName,
  IsNormalizedEmail,
  IsTags,
  IsUserType,
  IsUsername,
} from '../../common/validation/validators';
import { USER_ROLES, USER_STATUSES, UserRole, UserStatus } from '../entities/user.entity';
import { IsUserRole, IsUserStatus } from './user-enums';

export class CredentialsDto {
  /** @example ada */
  @IsUsername()
  username: string;

  /** The password: must match USERS_PASS_REGEX; write-only. @example changeMe123 */
  @IsString()
  @MaxLength(1024)
  secret: string;
}

export class CreateUserDto {
  /** @example Ada */
  @IsName()
  first_name: string;

  /** @example Lovelace */
  @IsName()
  last_name: string;

  /** @example ada@example.com */
  @IsNormalizedEmail()
  email: string;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => CredentialsDto)
  credentials: CredentialsDto;

  /** @example ["iot","beta"] */
  @IsOptional()
  @IsTags()
  tags?: string[];

  /** Visible to everyone who may see the user (at most 16 KiB). @example {"team":"core"} */
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, unknown>;

  /** Visible to the user and admins only (at most 16 KiB). @example {"plan":"pro"} */
  @IsOptional()
  @IsMetadata()
  private_metadata?: Record<string, unknown>;

  /** An http(s) URL. @example https://example.com/ada.png */
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  profile_picture?: string;

  /** A free label such as customer, partner or employee. @example customer */
  @IsOptional()
  @IsUserType()
  user_type?: string;

  /** Only an admin may create another admin. */
  @ApiProperty({ enum: USER_ROLES, required: false })
  @IsOptional()
  @IsUserRole()
  role?: UserRole;

  /** Only an admin may create a user that is not enabled. */
  @ApiProperty({ enum: USER_STATUSES.filter((s) => s !== 'deleted'), required: false })
  @IsOptional()
  @IsUserStatus(['enabled', 'disabled'])
  status?: Exclude<UserStatus, 'deleted'>;
}
