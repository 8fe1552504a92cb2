import { registerAs } from '@nestjs/config';
import { IsOptional, IsString, Matches } from 'class-validator';
import { IsDuration, IsIntegerBetween, durationMs, unlessEmpty, validateConfig } from './validate-config';

class EventsEnv {
  /** NATS server(s), comma-separated; set but empty: no NATS (events wait in the outbox). */
  @IsOptional()
  @Matches(/^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, { message: 'USERS_ES_URL must be nats://host:port (comma-separated for several servers)' })
  USERS_ES_URL?: string;

  @IsString()
  @Matches(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, { message: 'USERS_ES_SUBJECT_PREFIX must be NATS subject tokens separated by dots (no wildcards)' })
  USERS_ES_SUBJECT_PREFIX = 'events.users';

  /** The JetStream stream the relay publishes into (on `<prefix>.>`), created at startup when missing. */
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'USERS_ES_STREAM must be a JetStream stream name (letters, digits, _ and -)' })
  USERS_ES_STREAM = 'USERS_EVENTS';

  /** How long the stream keeps an event (they carry e-mail addresses): applied when the stream is created and on every start. */
  @IsDuration()
  USERS_ES_MAX_AGE = '720h';

  /** The stream's size limit in bytes; the oldest events go first. 0: no limit but the age. */
  @IsIntegerBetween(0)
  USERS_ES_MAX_BYTES = 1024 * 1024 * 1024;
}

export const eventsConfig = registerAs('events', () => {
  const env = validateConfig(process.env, EventsEnv);
  const url = unlessEmpty(process.env, 'USERS_ES_URL', env.USERS_ES_URL ?? 'nats://localhost:4222');
  return {
    /** Undefined: no NATS at all (no relay, no NATS API); events stay in the outbox. */
    servers: url?.split(','),
    subjectPrefix: env.USERS_ES_SUBJECT_PREFIX,
    stream: env.USERS_ES_STREAM,
    maxAgeMs: durationMs(env.USERS_ES_MAX_AGE),
    maxBytes: env.USERS_ES_MAX_BYTES,
    /** The queue group of the NATS API, so that replicas share its requests. */
    queueGroup: 'users',
  };
});

export type EventsConfig = ReturnType<typeof eventsConfig>;
