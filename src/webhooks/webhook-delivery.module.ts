import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { WebhookDeliverer } from './webhook-deliverer.service';
import { WebhooksModule } from './webhooks.module';

/** Sends the queued `signup` and `login` webhooks (see WebhookDeliverer). */
@Module({
  imports: [WebhooksModule, UsersModule],
  providers: [WebhookDeliverer],
})
export class WebhookDeliveryModule {}
