import { IsString, MaxLength } from 'class-validator';
import { UserRole } from '../../users/entities/user.entity';

/** `users.verify_token` request. */
export class VerifyTokenDto {
  @IsString()
  @MaxLength(4096)
  token: string;
}

/** `users.verify_token` answer: whom a valid access token belongs to. */
export class VerifiedTokenDto {
  user_id: string;
  role: UserRole;
  /** Whether the user's e-mail address is verified (now, not when the token was issued). */
  verified: boolean;
  /** The session (refresh-token family) the token belongs to. */
  session_id: string;
  /** The session's assurance level: `aal2` when it was signed in (or stepped up) with a second factor. */
  aal: 'aal1' | 'aal2';
  /** RFC 3339 */
  expires_at: string;
}
