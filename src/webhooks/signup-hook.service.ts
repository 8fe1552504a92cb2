import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { AppError } from '../common/errors/app-error';
import { authConfig } from '../config/auth.config';
import { toGoTrueUser } from '../gotrue/gotrue.mapper';
import { User } from '../users/entities/user.entity';
import { toUser } from '../users/users.mapper';
import { Metrics } from '../metrics/metrics.service';
import { WebhookClient } from './webhook-client.service';

/**
 * GoTrue's `validate` hook: asked synchronously, in the sign-up's transaction right after the account
 * row is written (so that the receiver sees its id), before anything else of the sign-up. Any answer
 * but a 2xx refuses the sign-up with the receiver's message (SIGNUP_REFUSED_BY_HOOK); no answer within
 * WEBHOOK_TIMEOUT_SEC, or none at all, refuses it too (SIGNUP_HOOK_UNAVAILABLE). The caller's
 * transaction then rolls back: nothing of the sign-up is written. One attempt: a sign-up does not wait
 * for retries.
 */
@Injectable()
export class SignupHook {
  private readonly logger = new Logger(SignupHook.name);

  constructor(
    private readonly client: WebhookClient,
    private readonly metrics: Metrics,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {}

  async validate(user: User): Promise<void> {
    if (!this.client.sends('validate')) return;
    // A new account: no session yet; an OAuth identity is linked after the hook agreed.
    const answer = await this.client.send('validate', toGoTrueUser(toUser(user), { lastSignInAt: null, identities: [] }, this.auth.audience));
    this.metrics.webhooks.inc({ event: 'validate', result: answer.outcome === 'accepted' ? 'sent' : 'refused' });
    if (answer.outcome === 'accepted') return;
    if (answer.outcome === 'refused') {
      this.logger.log({ userId: user.id, status: answer.status, reason: answer.message }, 'sign-up refused by the validate webhook');
      throw new AppError('SIGNUP_REFUSED_BY_HOOK', answer.message);
    }
    this.logger.warn({ userId: user.id, reason: answer.message }, 'sign-up refused: the validate webhook did not answer');
    throw new AppError('SIGNUP_HOOK_UNAVAILABLE', `sign-up refused: ${answer.message}`);
  }
}
