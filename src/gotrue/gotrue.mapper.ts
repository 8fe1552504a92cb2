import { createHash } from 'node:crypto';
import { TokenPairDto } from '../auth/dto/token-pair.dto';
import { UserDto } from '../users/dto/user-response.dto';
import { UsersRepository } from '../users/users.repository';
import { FactorDto } from '../mfa/dto/mfa.dto';
import { GoTrueFactorDto, GoTrueIdentityDto, GoTrueSessionDto, GoTrueUserDto } from './dto/gotrue.dto';

type SignInFacts = Awaited<ReturnType<UsersRepository['signInFacts']>>;

const iso = (date: Date | string | null) => (date === null ? null : new Date(date).toISOString());

/** A stable UUID-shaped id for an external identity (GoTrue's identity_id), from its provider and subject. */
function identityId(provider: string, subject: string): string {
  const hex = createHash('sha256').update(`${provider}:${subject}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Our user as GoTrue's user object. `role` is GoTrue's database role (`authenticated`); ours (user or
 * admin) is in `app_metadata.role`, as in the access token's claims. The `email` identity stands for
 * the password sign-in, the others are the linked OAuth identities.
 */
export function toGoTrueUser(user: UserDto, facts: SignInFacts, audience: string, factors: FactorDto[] = []): GoTrueUserDto {
  const provider = user.auth_provider ?? 'email';
  const lastSignInAt = iso(facts.lastSignInAt);
  const emailIdentity: GoTrueIdentityDto = {
    id: user.id,
    identity_id: user.id,
    user_id: user.id,
    provider: 'email',
    identity_data: { sub: user.id, email: user.email, email_verified: user.verified_at !== null },
    email: user.email,
    created_at: user.created_at,
    updated_at: user.updated_at,
    last_sign_in_at: lastSignInAt,
  };
  const external = facts.identities.map(
    (identity): GoTrueIdentityDto => ({
      id: identity.subject,
      identity_id: identityId(identity.provider, identity.subject),
      user_id: user.id,
      provider: identity.provider,
      identity_data: { sub: identity.subject, email: identity.email },
      email: identity.email,
      created_at: iso(identity.createdAt) as string,
      updated_at: iso(identity.lastLoginAt) as string,
      last_sign_in_at: iso(identity.lastLoginAt),
    }),
  );
  const identities = user.auth_provider === null ? [emailIdentity, ...external] : external;
  return {
    id: user.id,
    aud: audience,
    role: 'authenticated',
    email: user.email,
    phone: '',
    email_confirmed_at: user.verified_at,
    confirmed_at: user.verified_at,
    last_sign_in_at: lastSignInAt,
    app_metadata: { provider, providers: [...new Set([provider, ...identities.map((identity) => identity.provider)])], role: user.role },
    user_metadata: user.metadata,
    identities,
    // GoTrue leaves `factors` out when there are none.
    ...(factors.length > 0 ? { factors: factors.map(toGoTrueFactor) } : {}),
    is_anonymous: false,
    created_at: user.created_at,
    updated_at: user.updated_at,
  };
}

/** Our factor as GoTrue's. */
export function toGoTrueFactor(factor: FactorDto): GoTrueFactorDto {
  return {
    id: factor.id,
    ...(factor.friendly_name !== null ? { friendly_name: factor.friendly_name } : {}),
    factor_type: factor.factor_type,
    status: factor.status,
    created_at: factor.created_at,
    updated_at: factor.updated_at,
  };
}

/** The claims of one of our access tokens (just issued: not verified again). */
export function accessTokenClaims(accessToken: string): { sub: string; exp: number } {
  return JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()) as { sub: string; exp: number };
}

/** Our token pair as GoTrue's session; `expires_at` is the access token's own `exp`. */
export function toGoTrueSession(pair: TokenPairDto, user: GoTrueUserDto): GoTrueSessionDto {
  const { exp } = accessTokenClaims(pair.access_token);
  return { access_token: pair.access_token, token_type: 'bearer', expires_in: pair.expires_in, expires_at: exp, refresh_token: pair.refresh_token, user };
}
