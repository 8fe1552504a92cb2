import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';
import {
  IsMetadata,
  IsName,
  IsNormalizedEmail,
  IsOmittable,
  IsTags,
  IsUserType,
  IsUsername,
} from '../../common/validation/validators';
import { USER_ROLES, UserRole } from '../entities/user.entity';
import { IsUserRole } from './user-enums';

export class UpdateUserDto {
  @IsOmittable()
  @IsName()
  first_name?: string;

  @IsOmittable()
  @IsName()
  last_name?: string;

  @IsOmittable()
  @IsMetadata()
  metadata?: Record<string, unknown>;

  @IsOmittable()
  @IsMetadata()
  private_metadata?: Record<string, unknown>;

  /** null clears it. */
  @IsOptional()
  @IsUserType()
  user_type?: string | null;
}

export class UpdateEmailDto {
  /** @example ada@example.org */
  @IsNormalizedEmail()
  email: string;

  /**
   * The caller's current password: needed to change one's own address when the session's login is
   * older than USERS_REAUTH_WINDOW (not needed by an admin changing another user's address).
   */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;
}

export class UpdateUsernameDto {
  /** @example countess */
  @IsUsername()
  username: string;
}

export class UpdatePictureDto {
  /** @example https://example.com/ada.png */
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true })
  @MaxLength(2048)
  profile_picture: string;
}

export class UpdateTagsDto {
  /** The new tags; `[]` or no `tags` at all (as Go's SDK sends an empty list) clears them. @example ["edge","beta"] */
  @IsOptional()
  @IsTags()
  tags?: string[];
}

export class UpdateRoleDto {
  @ApiProperty({ enum: USER_ROLES })
  @IsUserRole()
  role: UserRole;
}
