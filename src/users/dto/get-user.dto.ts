import { IsUUID } from 'class-validator';

/** `users.get` request. */
export class GetUserDto {
  @IsUUID()
  id: string;
}
