import { IsString, MaxLength } from 'class-validator';

export class VerifyEmailQueryDto {
  /** The token of the verification link. */
  @IsString()
  @MaxLength(1024)
  token: string;
}
