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
