import { readFileSync } from 'node:fs';
import { NatsOptions } from '@nestjs/microservices';
import { credsAuthenticator, nkeyAuthenticator } from 'nats';
import { EventsConfig, NatsAuth } from '../config/events.config';

/** The injection token of the NATS ClientProxy the relay publishes through. */
export const NATS_CLIENT = 'NATS_CLIENT';

/** The credentials as the NATS client takes them; files are read at each (re)connection, so that a rotated file is picked up. */
function credentials(auth: NatsAuth): Record<string, unknown> {
  switch (auth.kind) {
    case 'user':
      return { user: auth.user, pass: auth.pass };
    case 'token':
      return { token: auth.token };
    case 'nkey':
      return { authenticator: nkeyAuthenticator(() => new TextEncoder().encode(readFileSync(auth.seedFile, 'utf8').trim())) };
    case 'creds':
      return { authenticator: credsAuthenticator(() => readFileSync(auth.credsFile)) };
    case 'none':
      return {};
  }
}

/**
 * Connection options shared by the relay's client and the NATS API server: the configured
 * credentials and TLS, keep reconnecting for ever (an outage must not end the connection for good),
 * and start even when NATS is down. No async traces: by default the client captures a stack (`new
 * Error()`) twice for every request and JetStream publish, to add to an error that may never come: on
 * the relay's one publish per event, about a seventh of the relay's CPU under a refresh load. A failed
 * publish still says what failed (code and message), and the relay logs it.
 */
export function natsConnectionOptions(events: Pick<EventsConfig, 'servers' | 'auth' | 'tls'>): Required<NatsOptions>['options'] {
  return {
    servers: events.servers ?? [],
    ...credentials(events.auth),
    ...(events.tls ? { tls: events.tls } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    noAsyncTraces: true,
    name: 'users-service',
  };
}

/** What to log when NATS cannot be used: a refusal of our credentials is said as such (nothing will change until they are fixed). */
export function natsFailure(error: unknown, consequence: string): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'AUTHORIZATION_VIOLATION' || code === 'AUTHENTICATION_EXPIRED') {
    return `NATS refused the service's credentials (USERS_ES_USER/USERS_ES_PASSWORD, USERS_ES_TOKEN, USERS_ES_NKEY_SEED_FILE, USERS_ES_CREDS_FILE or the URL's): ${consequence}`;
  }
  return `NATS unreachable: ${consequence}`;
}
