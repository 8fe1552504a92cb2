import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { MailerModule, MailerOptions } from '@nestjs-modules/mailer';
import { HandlebarsAdapter } from '@nestjs-modules/mailer/adapters/handlebars.adapter';
import { convert } from 'html-to-text';
import { APP_ROOT } from '../config/app-root';
import { mailConfig } from '../config/mail.config';
import { LinkMailer } from './link-mailer.service';
import { LinkTokensService } from './link-tokens.service';
import { MailQueue } from './mail-queue.service';
import { MailSender } from './mail-sender.service';

/** SMTP timeouts: a hung server must not hold a batch (and its row locks) for nodemailer's 2 minutes. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

/** nodemailer compile step after the template's: the plain-text part, from the rendered HTML. */
function plainTextPart(mail: { data: { html?: unknown; text?: unknown } }, done: (error?: Error | null) => void): void {
  if (typeof mail.data.html === 'string' && !mail.data.text) {
    mail.data.text = convert(mail.data.html, { wordwrap: 100, selectors: [{ selector: 'title', format: 'skip' }] });
  }
  done();
}

/**
 * Mail infrastructure: the durable queue, its sender, the throttle and the single-use link tokens.
 * The flows that send mail (verification, password reset, invitations) live with their domain.
 */
@Module({
  imports: [
    MailerModule.forRootAsync({
      inject: [mailConfig.KEY],
      useFactory: (mail: ConfigType<typeof mailConfig>): MailerOptions => ({
        transport: mail.smtp
          ? {
              host: mail.smtp.host,
              port: mail.smtp.port,
              secure: mail.smtp.port === 465,
              requireTLS: mail.smtp.requireTls,
              auth: mail.smtp.username ? { user: mail.smtp.username, pass: mail.smtp.password } : undefined,
              ...SMTP_TIMEOUTS,
            }
          : { jsonTransport: true },
        template: { dir: join(APP_ROOT, 'templates'), adapter: new HandlebarsAdapter(), options: { strict: true } },
        plugins: [{ step: 'compile', plugin: plainTextPart }],
      }),
    }),
  ],
  providers: [MailQueue, MailSender, LinkTokensService, LinkMailer],
  exports: [MailQueue, MailSender, LinkTokensService, LinkMailer],
})
export class MailModule {}
