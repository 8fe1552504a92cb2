import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { authConfig } from '../config/auth.config';
import { AppError } from '../common/errors/app-error';
import { UserRole } from '../users/entities/user.entity';
import { AccessTokenClaims } from './access-token';
import { TokenPairDto } from './dto/token-pair.dto';
import { RefreshTokensRepository } from './refresh-tokens.repository';

/** A refresh token is `<row id>.<256 random bits, base64url>`; only a hash of the secret is stored. */
const REFRESH_TOKEN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

interface TokenSubject {
  id: string;
  role: UserRole;
  verified: boolean;
}

@Injectable()
export class TokensService {
  constructor(
    private readonly jwt: JwtService,
    private readonly refreshTokens: RefreshTokensRepository,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {}

  /** Starts a new session: a refresh-token family and an access token bound to it. */
  async issue(user: TokenSubject, description: string): Promise<TokenPairDto> {
    const refresh = this.newRefreshToken();
    await this.refreshTokens.insertFamilyHead({
      id: refresh.id,
      userId: user.id,
      hash: refresh.hash,
      description,
      ttlMs: this.auth.refreshTokenTtlMs,
    });
    return this.pair(user, refresh.id, refresh.token);
  }

  /** Spends a refresh token for a new pair; a spent token presented again revokes its session. */
  async rotate(presented: string): Promise<TokenPairDto> {
    const spent = this.parse(presented);
    const successor = this.newRefreshToken();
    const rotated = await this.refreshTokens.rotate(spent, { ...successor, ttlMs: this.auth.refreshTokenTtlMs });
    if (rotated) {
      return this.pair({ id: rotated.userId, role: rotated.role, verified: rotated.verified }, rotated.familyId, successor.token);
    }
    if (await this.refreshTokens.revokeFamilyOfSpentToken(spent)) throw new AppError('REFRESH_TOKEN_REUSED');
    throw new AppError('REFRESH_TOKEN_INVALID');
  }

  private pair(user: TokenSubject, sessionId: string, refreshToken: string): TokenPairDto {
    const now = Date.now();
    const claims: Omit<AccessTokenClaims, 'exp'> = {
      sub: user.id,
      role: user.role,
      verified: user.verified,
      type: 'access',
      sid: sessionId,
      jti: randomUUID(),
      iat: now / 1000,
    };
    const expiresIn = Math.floor(this.auth.accessTokenTtlMs / 1000);
    const accessToken = this.jwt.sign(claims, { expiresIn, algorithm: 'HS256', issuer: this.auth.issuer, audience: this.auth.audience });
    return { access_token: accessToken, refresh_token: refreshToken, access_type: 'Bearer', expires_in: expiresIn };
  }

  private newRefreshToken() {
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    return { id, token: `${id}.${secret}`, hash: hashSecret(secret) };
  }

  private parse(token: string): { id: string; hash: Buffer } {
    const match = REFRESH_TOKEN.exec(token);
    if (!match) throw new AppError('REFRESH_TOKEN_INVALID');
    return { id: match[1], hash: hashSecret(match[2]) };
  }
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
