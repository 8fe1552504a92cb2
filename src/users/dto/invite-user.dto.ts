import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { IsName, IsNormalizedEmail } from '../../common/validation/validators';
import { USER_ROLES, UserRole } from '../entities/user.entity';

export class InviteUserDto {
  /** @example grace@example.com */
  @IsNormalizedEmail()
  email: string;

  /** The part of the address before the @ when not given. @example Grace */
  @IsOptional()
  @IsName()
  first_name?: string;

  /** Empty when not given. @example Hopper */
  @IsOptional()
  @IsName()
  last_name?: string;

  @ApiProperty({ enum: USER_ROLES, required: false, default: 'user' })
  @IsOptional()
  @IsIn(USER_ROLES)
  role?: UserRole;
}
