import { Body, Controller, Headers, HttpCode, HttpStatus, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Audit, RequestAudit } from '../common/decorators/audit.decorator';
import { ApiErrors, BODY_ERRORS } from '../common/decorators/api-errors.decorator';
import { ApiPasswordResetToken, ApiTokenOptional } from '../common/decorators/api-security.decorator';
import { Public } from '../common/decorators/auth.decorators';
import { MessageDto } from '../common/dto/message.dto';
import { EmptyDto, PasswordResetDto, PasswordResetRequestDto } from './dto/password-reset.dto';
import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { PasswordResetService } from './password-reset.service';
import { bearerToken } from './bearer-token';

@ApiTags('e-mail')
@Public()
@Controller('password')
export class PasswordController {
  constructor(private readonly passwordReset: PasswordResetService) {}

  /**
   * Ask for a password-reset link
   *
   * @remarks Always answers the same, whether or not the account exists (no enumeration). The link (15 minutes
   * by default) goes to enabled accounts, at most once per EMAIL_MIN_INTERVAL.
   */
  @Post('reset-request')
  @RateLimit('email', 'email-account')
  @HttpCode(HttpStatus.CREATED)
  @ApiErrors(...BODY_ERRORS, 'RATE_LIMITED')
  requestPasswordReset(@Body() dto: PasswordResetRequestDto, @RequestAudit() audit: Audit): Promise<MessageDto> {
    return this.passwordReset.request(dto.email, audit);
  }

  /**
   * Set a new password with a mailed link's token
   *
   * @remarks The link of a password-reset or invitation mail. The token goes in the body or as `Authorization: Bearer …`. Verifies the address and ends every
   * session of the user.
   */
  @Put('reset')
  @HttpCode(HttpStatus.CREATED)
  @ApiTokenOptional()
  @ApiPasswordResetToken()
  @ApiErrors(...BODY_ERRORS, 'LINK_TOKEN_INVALID', 'LINK_TOKEN_EXPIRED', 'LINK_TOKEN_USED', 'LINK_TOKEN_WRONG_TYPE', 'SERVER_BUSY')
  async resetPassword(@Body() dto: PasswordResetDto, @Headers('authorization') authorization: string | undefined, @RequestAudit() audit: Audit): Promise<EmptyDto> {
    await this.passwordReset.reset(dto.token ?? bearerToken(authorization), dto.password, dto.confirm_password, audit);
    return {};
  }
}
