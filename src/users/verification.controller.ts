import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { ApiFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { Audit, RequestAudit } from '../common/decorators/audit.decorator';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { Public } from '../common/decorators/auth.decorators';
import { MessageDto } from '../common/dto/message.dto';
import { AppError } from '../common/errors/app-error';
import { mailConfig } from '../config/mail.config';
import { VerifyEmailQueryDto } from './dto/verify-email.dto';
import { EmailVerificationService } from './email-verification.service';

@ApiTags('e-mail')
@Controller()
export class VerificationController {
  constructor(
    private readonly verification: EmailVerificationService,
    @Inject(mailConfig.KEY) private readonly mail: ConfigType<typeof mailConfig>,
  ) {}

  /**
   * Verify an e-mail address
   *
   * @remarks The link of the verification mail, with its `token`. Answers JSON, or, when VERIFICATION_REDIRECT_URL is set, a 302 to it (with `?error=<code>` when
   * the link cannot be used).
   */
  @Get('verify-email')
  @Public()
  @ApiOkResponse({ type: MessageDto, description: 'The address is verified' })
  @ApiFoundResponse({ description: 'When VERIFICATION_REDIRECT_URL is set: to it, with `?error=<code>` on failure' })
  @ApiErrors('VALIDATION_FAILED', 'LINK_TOKEN_INVALID', 'LINK_TOKEN_EXPIRED', 'LINK_TOKEN_USED', 'LINK_TOKEN_WRONG_TYPE')
  async verifyEmail(@Query() query: VerifyEmailQueryDto, @RequestAudit() audit: Audit, @Res({ passthrough: true }) reply: FastifyReply): Promise<MessageDto | undefined> {
    const redirectTo = this.mail.verificationRedirectUrl;
    if (!redirectTo) return this.verification.verify(query.token, audit);
    const target = new URL(redirectTo);
    try {
      await this.verification.verify(query.token, audit);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      target.searchParams.set('error', error.code);
    }
    reply.status(302).header('Location', target.toString());
    return undefined;
  }
}
