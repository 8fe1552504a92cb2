import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { JWTPayload } from 'jose';
import { DataSource, EntityManager } from 'typeorm';
import { Audit } from '../common/decorators/audit.decorator';
import { EventsService } from '../events/events.service';
import { newOpaqueToken, parseOpaqueToken } from '../common/utils/opaque-token';
import { authConfig } from '../config/auth.config';
import { AppError } from '../common/errors/app-error';
import { User, UserRole } from '../users/entities/user.entity';
import { AccessTokenClaims, Assurance, firstFactor } from './access-token';
import { TokenPairDto } from './dto/token-pair.dto';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { SigningKeys } from './signing-keys';

/** Whom an access token is for: the claims it carries about them. */
export interface TokenSubject {
  id: string;
  role: UserRole;
  verified: boolean;
  email: string;
  metadata: Record<string, unknown>;
  authProvider: string | null;
}

export const tokenSubject = (user: User): TokenSubject => ({
  id: user.id,
  role: user.role,
  verified: user.verifiedAt !== null,
  email: user.email,
  metadata: user.metadata,
  authProvider: user.authProvider,
});

@Injectable()
export class TokensService {
  constructor(
    private readonly keys: SigningKeys,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly events: EventsService,
    private readonly dataSource: DataSource,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {}

  /**
   * Starts a new session: a refresh-token family and an access token bound to it, and the
   * user.issue_token event; in the caller's transaction when given one, else in its own. The session
   * keeps `assurance` (aal, amr) for its refreshes; by default a password sign-in's `aal1`.
   */
  async issue(user: TokenSubject, description: string, audit: Audit, manager?: EntityManager, assurance: Assurance = firstFactor('password')): Promise<TokenPairDto> {
    if (!manager) return this.dataSource.transaction((own) => this.issue(user, description, audit, own, assurance));
    const refresh = newOpaqueToken();
    const started = await this.refreshTokens.insertFamilyHead(manager, {
      id: refresh.id,
      userId: user.id,
      hash: refresh.hash,
      description,
      ttlMs: this.auth.refreshTokenTtlMs,
      assurance,
    });
    // Disabled or deleted between the caller's check and now.
    if (!started) throw new AppError('ACCOUNT_DISABLED');
    await this.events.record(manager, {
      operation: 'user.issue_token',
      userId: user.id,
      audit: { ...audit, actorId: audit.actorId ?? user.id },
      data: { session_id: refresh.id, client: description, aal: assurance.aal },
    });
    return this.pair(user, refresh.id, refresh.token, assurance);
  }

  /** Spends a refresh token for a new pair; a spent token presented again revokes its session. */
  async rotate(presented: string, audit: Audit): Promise<TokenPairDto> {
    const spent = this.parse(presented);
    const successor = newOpaqueToken();
    const rotated = await this.refreshTokens.rotate(spent, { id: successor.id, hash: successor.hash, ttlMs: this.auth.refreshTokenTtlMs }, { id: randomUUID(), audit });
    if (rotated) {
      return this.pair(rotated.subject, rotated.familyId, successor.token, rotated.assurance);
    }
    const reused = await this.dataSource.transaction((manager) => this.refreshTokens.revokeFamilyOfSpentToken(manager, spent));
    if (reused) throw new AppError('REFRESH_TOKEN_REUSED');
    throw new AppError('REFRESH_TOKEN_INVALID');
  }

  /** Ends the session a refresh token belongs to (the cookie sign-out); a token that is none ends nothing. */
  async endSession(presented: string, audit: Audit): Promise<void> {
    const token = parseOpaqueToken(presented);
    if (!token) return;
    await this.dataSource.transaction(async (manager) => {
      const session = await this.refreshTokens.revokeFamilyOf(manager, token);
      if (!session) return;
      await this.events.record(manager, {
        operation: 'user.revoke_token',
        userId: session.userId,
        audit: { ...audit, actorId: audit.actorId ?? session.userId },
        data: { session_id: session.familyId },
      });
    });
  }

  private async pair(user: TokenSubject, sessionId: string, refreshToken: string, assurance: Assurance): Promise<TokenPairDto> {
    const expiresIn = Math.floor(this.auth.accessTokenTtlMs / 1000);
    const iat = Math.floor(Date.now() / 1000);
    // (iss and aud in the literal, not `{ ...claims, iss, aud }`: see toUser on object spreads and Node 20)
    const claims: AccessTokenClaims & JWTPayload = {
      sub: user.id,
      role: user.role,
      verified: user.verified,
      type: 'access',
      sid: sessionId,
      jti: randomUUID(),
      iat,
      exp: iat + expiresIn,
      email: user.email,
      session_id: sessionId,
      app_metadata: { provider: user.authProvider ?? 'email', providers: [user.authProvider ?? 'email'], role: user.role },
      user_metadata: user.metadata,
      aal: assurance.aal,
      amr: assurance.amr,
      iss: this.auth.issuer,
      aud: this.auth.audience,
    };
    const accessToken = await this.keys.sign(claims);
    return { access_token: accessToken, refresh_token: refreshToken, access_type: 'Bearer', expires_in: expiresIn };
  }

  private parse(token: string): { id: string; hash: Buffer } {
    const parsed = parseOpaqueToken(token);
    if (!parsed) throw new AppError('REFRESH_TOKEN_INVALID');
    return parsed;
  }
}
