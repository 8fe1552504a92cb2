import { IsOptional, IsString, IsUUID, Length, MaxLength } from 'class-validator';

export class IssueTokenDto {
  /** E-mail address or username. @example ada@example.com */
  @IsOptional()
  @IsString()
  // Empty is as absent: the older Go SDK always sends `identity`, "" when it logs in by `user_name`.
  @MaxLength(254)
  identity?: string;

  /** @example changeMe123 */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  secret?: string;

  /** Alias of `identity`. */
  @IsOptional()
  @IsString()
  @Length(1, 254)
  username?: string;

  /** Alias of `secret`. */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  /** Alias of `identity`, as the older Go SDK (`pkg/sdk/go`) names a login by username. */
  @IsOptional()
  @IsString()
  @Length(1, 254)
  user_name?: string;
}

export class RefreshTokenDto {
  /** The refresh token, unless it is sent as `Authorization: Bearer …`. */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  refresh_token?: string;
}

export class RevokeTokenDto {
  /** The id of a session, as listed by GET /users/tokens/refresh-tokens. */
  @IsUUID()
  token_id: string;
}

export class UpdateSecretDto {
  @IsString()
  @MaxLength(1024)
  old_secret: string;

  @IsString()
  @MaxLength(1024)
  new_secret: string;
}

export class SessionDto {
  /** The session id, to revoke it with POST /users/tokens/revoke. */
  id: string;
  /** The client that signed in (its User-Agent). */
  description: string;
  created_at: string;
  expires_at: string;
}

export class SessionsDto {
  refresh_tokens: SessionDto[];
}
