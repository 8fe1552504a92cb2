import { Module } from '@nestjs/common';
import { SignupHook } from './signup-hook.service';
import { WebhookClient } from './webhook-client.service';
import { WebhookOutbox } from './webhook-outbox.service';

/**
 * GoTrue's webhooks (WEBHOOK_*): the client that signs and sends a hook request, the `validate` hook
 * the sign-ups ask, and the queue of `signup` and `login` deliveries that EventsService fills in the
 * change's transaction. The queue's worker is WebhookDeliveryModule (it reads users, and the users'
 * module needs this one).
 */
@Module({
  providers: [WebhookClient, SignupHook, WebhookOutbox],
  exports: [WebhookClient, SignupHook, WebhookOutbox],
})
export class WebhooksModule {}
