import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { EventsRelay } from '../events/events-relay.service';

const NATS_TIMEOUT_MS = 1000;

/** Readiness of the event bus: NATS answers a round trip (when USERS_ES_URL is set). */
@Injectable()
export class EventsHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly relay: EventsRelay,
    private readonly dataSource: DataSource,
  ) {}

  get enabled(): boolean {
    return this.relay.enabled;
  }

  async nats(): Promise<HealthIndicatorResult<'nats'>> {
    const indicator = this.health.check('nats');
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${NATS_TIMEOUT_MS} ms`)), NATS_TIMEOUT_MS)));
      await Promise.race([this.relay.ping(), timeout]);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The unsent events, for dashboards: a backlog is a metric, never a reason to stop taking traffic
   * (the changes are safe in the outbox), so this check is always up; `pending` is null while the
   * database cannot be asked (its own check says so).
   */
  async outbox(): Promise<HealthIndicatorResult<'outbox'>> {
    const pending = await this.dataSource
      .query<{ pending: number }[]>(`SELECT count(*)::int AS pending FROM outbox_events WHERE sent_at IS NULL`)
      .then(([row]) => row.pending, () => null);
    return this.health.check('outbox').up({ pending });
  }
}
