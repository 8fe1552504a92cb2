import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { EntityManager } from 'typeorm';
import { WebhookEvent, webhooksConfig } from '../config/webhooks.config';
import type { DomainEvent } from '../events/events.service';

/** Woken by every transaction that queued a webhook, at its commit. */
export const WEBHOOK_CHANNEL = 'users_webhooks';

/**
 * GoTrue's asynchronous hook events, from our domain events: `signup` is an account created by its own
 * owner (self-registration, the GoTrue API's sign-up, a first OAuth sign-in; not an admin's creation
 * or invitation), `login` is every new session.
 */
export function webhookEventOf(event: DomainEvent): WebhookEvent | undefined {
  if (event.operation === 'user.create' && (event.audit.actorId === null || event.audit.actorId === event.userId)) return 'signup';
  if (event.operation === 'user.issue_token') return 'login';
  return undefined;
}

/**
 * Queues the `signup` and `login` webhooks of a change in its transaction (EventsService.record calls
 * it with the change's events): a delivery exists exactly when the change committed, and no request
 * waits for the receiver.
 */
@Injectable()
export class WebhookOutbox {
  constructor(@Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>) {}

  async enqueue(manager: EntityManager, events: readonly DomainEvent[]): Promise<void> {
    const due = events.flatMap((event) => {
      const webhook = webhookEventOf(event);
      return webhook && this.config.events.has(webhook) ? [{ webhook, userId: event.userId }] : [];
    });
    if (due.length === 0) return;
    await manager.query(
      `INSERT INTO webhook_deliveries (event, user_id)
       SELECT event, user_id FROM unnest($1::varchar[], $2::uuid[]) AS due (event, user_id), (SELECT pg_notify($3, '')) AS wake_the_deliverer`,
      [due.map((d) => d.webhook), due.map((d) => d.userId), WEBHOOK_CHANNEL],
    );
  }
}
