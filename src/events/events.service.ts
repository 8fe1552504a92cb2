import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { EntityManager } from 'typeorm';
import { Audit } from '../common/decorators/audit.decorator';
import { eventsConfig } from '../config/events.config';
import { currentTraceparent } from '../tracing/trace-context';
import { WebhookOutbox } from '../webhooks/webhook-outbox.service';
import { OutboxEvent } from './entities/outbox-event.entity';
import { EventOperation } from './event-operations';

/** Names the advisory locks that order each user's events (the second key is a hash of the user id). */
export const EVENT_ORDER_LOCK = 7_243_100;
/** Woken by every transaction that recorded events, at its commit (NOTIFY is transactional). */
export const OUTBOX_CHANNEL = 'users_outbox';

export interface DomainEvent {
  operation: EventOperation;
  /** The user the event is about: events of one user are published in the order they were recorded. */
  userId: string;
  audit: Audit;
  /** The changed fields; never a password, hash or token. */
  data: Record<string, unknown>;
}

/** The published message: the envelope, then the changed fields. */
export function eventPayload(event: OutboxEvent): Record<string, unknown> {
  return {
    event_id: event.id,
    operation: event.operation,
    occurred_at: event.createdAt.toISOString(),
    actor_id: event.actorId,
    request_id: event.requestId,
    user_id: event.userId,
    ...event.data,
  };
}

/**
 * Records domain events in the transactional outbox. Call it inside the transaction of the change, as
 * its last statement (with all the change's events at once): the per-user lock it takes is held until the commit, so that the events of a
 * user get `seq` numbers in the order their transactions commit (and taking it last cannot deadlock
 * with the row locks of the change itself). The refresh-token rotation writes its event in its own
 * single statement, the same way (RefreshTokensRepository.rotate). The events that are GoTrue's
 * `signup` and `login` webhooks queue their delivery here too (WebhookOutbox).
 */
@Injectable()
export class EventsService {
  constructor(
    @Inject(eventsConfig.KEY) private readonly config: ConfigType<typeof eventsConfig>,
    private readonly webhooks: WebhookOutbox,
  ) {}

  /**
   * `private_metadata` is for the user and admins only: it is left out of the outbox (and so of every
   * event) unless USERS_EVENTS_INCLUDE_PRIVATE=true.
   */
  async record(manager: EntityManager, ...events: DomainEvent[]): Promise<void> {
    for (const event of events) {
      const data = this.config.includePrivate ? event.data : withoutPrivate(event.data);
      await manager.query(
        `INSERT INTO outbox_events (id, user_id, operation, actor_id, request_id, data, trace_context)
         SELECT $1::uuid, $2::uuid, $3, $4::uuid, $5, $6::jsonb, $9
         FROM (SELECT pg_advisory_xact_lock($7, hashtext($2::text)), pg_notify($8, '')) AS per_user_order`,
        [randomUUID(), event.userId, event.operation, event.audit.actorId, event.audit.requestId, data, EVENT_ORDER_LOCK, OUTBOX_CHANNEL, currentTraceparent()],
      );
    }
    // GoTrue's `signup` and `login` webhooks of these events, in the same transaction.
    await this.webhooks.enqueue(manager, events);
  }
}

function withoutPrivate(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([field]) => field !== 'private_metadata'));
}
