import { registerAs } from '@nestjs/config';
import { IsOptional, IsString, Matches } from 'class-validator';
import { unlessEmpty, validateConfig } from './validate-config';

class EventsEnv {
  /** NATS server(s), comma-separated; set but empty: no NATS (events wait in the outbox). */
  @IsOptional()
  @Matches(/^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, { message: 'USERS_ES_URL must be nats://host:port (comma-separated for several servers)' })
  USERS_ES_URL?: string;

  @IsString()
  @Matches(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, { message: 'USERS_ES_SUBJECT_PREFIX must be NATS subject tokens separated by dots (no wildcards)' })
  USERS_ES_SUBJECT_PREFIX = 'events.users';
}

export const eventsConfig = registerAs('events', () => {
  const env = validateConfig(process.env, EventsEnv);
  const url = unlessEmpty(process.env, 'USERS_ES_URL', env.USERS_ES_URL ?? 'nats://localhost:4222');
  return {
    /** Undefined: no NATS at all (no relay, no NATS API); events stay in the outbox. */
    servers: url?.split(','),
    subjectPrefix: env.USERS_ES_SUBJECT_PREFIX,
    /** The JetStream stream the relay publishes into, created at startup when missing. */
    stream: 'USERS_EVENTS',
    /** The queue group of the NATS API, so that replicas share its requests. */
    queueGroup: 'users',
  };
});

export type EventsConfig = ReturnType<typeof eventsConfig>;
