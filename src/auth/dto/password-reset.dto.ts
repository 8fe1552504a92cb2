import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { IsNormalizedEmail } from '../../common/validation/validators';

export class PasswordResetRequestDto {
  /** @example ada@example.com */
  @IsNormalizedEmail()
  email: string;

  /**
   * Sent by SuperMQ's SDKs, and ignored: the link is built only from PASSWORD_RESET_URL_PREFIX, never from
   * this field, `Host` or `Referer`, so a request cannot make the mail point at another site.
   */
  @ApiProperty({ deprecated: true, required: false })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  host?: string;
}

export class PasswordResetDto {
  /** The token of the mailed link (recovery or invite), unless it is sent as `Authorization: Bearer …`. */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  token?: string;

  /** The new password: must match USERS_PASS_REGEX. @example n3w-Secret! */
  @IsString()
  @MaxLength(1024)
  password: string;

  /** @example n3w-Secret! */
  @IsString()
  @MaxLength(1024)
  confirm_password: string;
}

/** PUT /password/reset answers an empty object, as SuperMQ does. */
export class EmptyDto {}
