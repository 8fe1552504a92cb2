import { ApiProperty } from '@nestjs/swagger';

export class HealthInfoDto {
  @ApiProperty({ enum: ['pass'] })
  status: 'pass';
  /** @example 0.1.0 */
  version: string;
  /** @example ffffffff */
  commit: string;
  /** @example users service */
  description: string;
  /** @example 1970-01-01_00:00:00 */
  build_time: string;
  instance_id: string;
}
