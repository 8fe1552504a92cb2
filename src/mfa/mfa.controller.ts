import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Assurance } from '../auth/access-token';
import { CurrentAssurance, CurrentSessionId } from '../auth/current-session.decorator';
import { ADMIN_MFA_ERRORS, AUTH_ERRORS, ApiErrors, BODY_ERRORS } from '../common/decorators/api-errors.decorator';
import { ApiAccessToken } from '../common/decorators/api-security.decorator';
import { Audit, RequestAudit } from '../common/decorators/audit.decorator';
import { CurrentUser, Roles } from '../common/decorators/auth.decorators';
import { IdParam, UuidParam } from '../common/decorators/id-param.decorator';
import { User } from '../users/entities/user.entity';
import { EnrollFactorDto, EnrolledFactorDto, FactorDto, FactorsDto, PasskeyOptionsDto, RecoveryCodesDto, RegisterPasskeyDto, RegisteredPasskeyDto, RenameFactorDto } from './dto/mfa.dto';
import { MfaService } from './mfa.service';

/** The caller's second factors and recovery codes, and an admin's view of anyone's factors (#16). */
@ApiTags('mfa')
@ApiAccessToken()
@Controller('users')
export class MfaController {
  constructor(private readonly mfa: MfaService) {}

  /**
   * Enrol a TOTP factor
   *
   * @remarks A new, unverified factor with its secret, `otpauth://` URI and QR code (SVG), shown this once: scan it with an
   * authenticator app, then verify its first code with POST /users/tokens/step-up, which activates it (and answers the
   * recovery codes the first time). A user who already has a verified factor needs a recent second factor (aal2).
   */
  @Post('mfa/factors')
  @ApiErrors(...BODY_ERRORS, ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'AAL2_REQUIRED', 'MFA_FACTOR_NAME_TAKEN', 'MFA_FACTOR_LIMIT')
  enrollFactor(@Body() dto: EnrollFactorDto, @CurrentUser() actor: User, @CurrentAssurance() assurance: Assurance, @RequestAudit() audit: Audit): Promise<EnrolledFactorDto> {
    return this.mfa.enroll(actor, assurance, { friendlyName: dto.friendly_name, issuer: dto.issuer }, audit);
  }

  /**
   * Passkey registration options
   *
   * @remarks WebAuthn creation options for a discoverable credential (a passkey) with user verification, bound to the caller's
   * session; their passkeys are excluded. Give `options` to navigator.credentials.create() and its credential, as JSON, with
   * `challenge_id` to POST /users/mfa/passkeys. A user who already has a verified factor needs a recent second factor (aal2).
   */
  @Post('mfa/passkeys/options')
  @HttpCode(HttpStatus.OK)
  @ApiErrors(...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'AAL2_REQUIRED')
  passkeyRegistrationOptions(@CurrentUser() actor: User, @CurrentAssurance() assurance: Assurance, @CurrentSessionId() sessionId: string | undefined): Promise<PasskeyOptionsDto> {
    return this.mfa.passkeyRegistrationOptions(actor, assurance, sessionId);
  }

  /**
   * Register a passkey
   *
   * @remarks Verifies the new credential's attestation (challenge, origin in USERS_WEBAUTHN_ORIGINS, RP id, user verification) and
   * stores it as a verified `webauthn` factor: it signs in without a password (POST /users/tokens/passkey), answers MFA challenges
   * and steps sessions up. The user's first factor also answers their ten `recovery_codes`, shown this once. List, rename and
   * remove passkeys as any factor (/users/mfa/factors).
   */
  @Post('mfa/passkeys')
  @ApiErrors(...BODY_ERRORS, ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'AAL2_REQUIRED', 'PASSKEY_CHALLENGE_INVALID', 'PASSKEY_INVALID', 'PASSKEY_ALREADY_REGISTERED', 'MFA_FACTOR_NAME_TAKEN', 'MFA_FACTOR_LIMIT')
  registerPasskey(
    @Body() dto: RegisterPasskeyDto,
    @CurrentUser() actor: User,
    @CurrentAssurance() assurance: Assurance,
    @CurrentSessionId() sessionId: string | undefined,
    @RequestAudit() audit: Audit,
  ): Promise<RegisteredPasskeyDto> {
    return this.mfa.registerPasskey(actor, assurance, sessionId, { challengeId: dto.challenge_id, response: dto.response, friendlyName: dto.friendly_name }, audit);
  }

  /**
   * List the caller's factors
   *
   * @remarks Verified and unverified (an enrolment whose first code was not verified yet); never their secrets.
   */
  @Get('mfa/factors')
  @ApiErrors(...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED')
  async listFactors(@CurrentUser() actor: User): Promise<FactorsDto> {
    return { factors: await this.mfa.list(actor.id) };
  }

  /**
   * Rename one of the caller's factors
   *
   * @remarks The name tells the factors apart in an MFA challenge's list; unique per user (409 MFA_FACTOR_NAME_TAKEN).
   */
  @Patch('mfa/factors/:factorId')
  @ApiErrors(...BODY_ERRORS, 'INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'AAL2_REQUIRED', 'MFA_FACTOR_NOT_FOUND', 'MFA_FACTOR_NAME_TAKEN')
  renameFactor(@UuidParam('factorId') factorId: string, @Body() dto: RenameFactorDto, @CurrentUser() actor: User, @RequestAudit() audit: Audit): Promise<FactorDto> {
    return this.mfa.rename(actor, factorId, dto.friendly_name, audit);
  }

  /**
   * Remove one of the caller's factors
   *
   * @remarks A verified factor needs a recent second factor (aal2 within USERS_MFA_REAUTH_WINDOW); an unverified one does not.
   * Removing the last verified factor turns MFA off and deletes the recovery codes.
   */
  @Delete('mfa/factors/:factorId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors('INVALID_ID', ...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'AAL2_REQUIRED', 'MFA_FACTOR_NOT_FOUND')
  async removeFactor(@UuidParam('factorId') factorId: string, @CurrentUser() actor: User, @CurrentAssurance() assurance: Assurance, @RequestAudit() audit: Audit): Promise<void> {
    await this.mfa.remove(actor, assurance, actor.id, factorId, audit);
  }

  /**
   * Regenerate the caller's recovery codes
   *
   * @remarks Ten new single-use codes replace the old ones (used or not); shown this once. Needs a recent second factor.
   */
  @Post('mfa/recovery-codes')
  @ApiErrors(...AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'AAL2_REQUIRED', 'MFA_NOT_ENABLED')
  regenerateRecoveryCodes(@CurrentUser() actor: User, @CurrentAssurance() assurance: Assurance, @RequestAudit() audit: Audit): Promise<RecoveryCodesDto> {
    return this.mfa.regenerateRecoveryCodes(actor, assurance, audit);
  }

  /**
   * List a user's factors (admin)
   *
   * @remarks What an admin sees to help a user who lost their authenticator: the factors' names, types and states, never their secrets.
   */
  @Get(':id/mfa/factors')
  @Roles('admin')
  @ApiErrors('INVALID_ID', ...AUTH_ERRORS, 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'USER_NOT_FOUND')
  async listUserFactors(@IdParam() id: string): Promise<FactorsDto> {
    return { factors: await this.mfa.listOf(id) };
  }

  /**
   * Remove a user's factor (admin)
   *
   * @remarks For a user who lost their authenticator and their recovery codes: the event user.mfa_remove names the admin as its actor.
   */
  @Delete(':id/mfa/factors/:factorId')
  @Roles('admin')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiErrors('INVALID_ID', ...AUTH_ERRORS, 'FORBIDDEN', ...ADMIN_MFA_ERRORS, 'MFA_FACTOR_NOT_FOUND')
  async removeUserFactor(@IdParam() id: string, @UuidParam('factorId') factorId: string, @CurrentUser() actor: User, @CurrentAssurance() assurance: Assurance, @RequestAudit() audit: Audit): Promise<void> {
    await this.mfa.remove(actor, assurance, id, factorId, audit);
  }
}
