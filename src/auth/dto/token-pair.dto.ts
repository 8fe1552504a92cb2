import { ApiProperty } from '@nestjs/swagger';

export class TokenPairDto {
  /** A JWT to send as `Authorization: Bearer …`. */
  access_token: string;
  /** Opaque and single-use: each refresh answers a new one. */
  refresh_token: string;
  @ApiProperty({ enum: ['Bearer'] })
  access_type: 'Bearer';
  /** Lifetime of the access token, in seconds. @example 900 */
  expires_in: number;
}

/** A stepped-up session (`aal2`), and the recovery codes when this verification activated the user's first factor: shown this once. */
export class StepUpDto extends TokenPairDto {
  recovery_codes?: string[];
}
