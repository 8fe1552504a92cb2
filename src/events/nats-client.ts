import { NatsOptions } from '@nestjs/microservices';

/** The injection token of the NATS ClientProxy the relay publishes through. */
export const NATS_CLIENT = 'NATS_CLIENT';

/**
 * Connection options shared by the relay's client and the NATS API server: keep reconnecting for
 * ever (an outage must not end the connection for good), and start even when NATS is down.
 */
export function natsConnectionOptions(servers: string[]): NatsOptions['options'] {
  return { servers, maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: true, name: 'users-service' };
}
