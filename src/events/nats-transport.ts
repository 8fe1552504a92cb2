import { MicroserviceOptions, NatsOptions, ServerNats } from '@nestjs/microservices';
import { IncomingRequestDeserializer } from '@nestjs/microservices/deserializers';
import { IncomingEvent, IncomingRequest } from '@nestjs/microservices/interfaces';
import { JSONCodec, Msg, NatsConnection, SubscriptionOptions } from 'nats';
import { EventsConfig } from '../config/events.config';
import { inRequestSpan } from '../tracing/trace-context';
import { JSON_MAX_DEPTH, nestsDeeperThan } from '../common/validation/validators';
import { natsConnectionOptions } from './nats-client';

const json = JSONCodec();

/**
 * Requests from any NATS client: a plain JSON body on the pattern's subject, with a reply subject.
 * Nest takes a message without its `{pattern, data, id}` envelope for an event (no reply); here it
 * becomes a request whose id is the reply subject. Nest's own envelope is still understood. A body
 * that is not JSON, or nested deeper than JSON_MAX_DEPTH, is a request without a payload, which validation refuses (Nest's own deserializer
 * would throw out of the subscription, and that ends the process).
 */
class PlainJsonRequestDeserializer extends IncomingRequestDeserializer {
  override deserialize(value: Uint8Array, options?: Record<string, unknown>): IncomingRequest | IncomingEvent {
    let decoded: unknown;
    try {
      decoded = json.decode(value);
    } catch {
      // Not JSON: a request without a payload.
    }
    // Nested deeper than any request of ours: also none (validation would walk it recursively).
    const message = super.deserialize(nestsDeeperThan(decoded, JSON_MAX_DEPTH) ? undefined : decoded, options) as IncomingRequest | IncomingEvent;
    // A body with a `pattern` or `data` field is taken for Nest's envelope, and one without `id` for an
    // event, which is never answered: a request (it has a reply subject) is always answered.
    return !('id' in message && message.id !== undefined) && typeof options?.replyTo === 'string' ? { ...message, id: options.replyTo } : message;
  }

  override mapToSchema(value: unknown, options?: Record<string, unknown>) {
    return { id: options?.replyTo as string | undefined, pattern: options?.channel as string, data: value };
  }
}

/** Replies are plain JSON too: the handler's answer, or `{"error": {"code", "message"}}`. */
class PlainJsonReplySerializer {
  serialize(packet: { response?: unknown; err?: unknown }) {
    return { data: json.encode(packet.err !== undefined ? { error: packet.err } : (packet.response ?? null)) };
  }
}

/**
 * Nest's NATS server subscribes to each @MessagePattern as its subject; this one puts the deployment's
 * USERS_ES_API_PREFIX in front (`verify_token` → `users.verify_token` by default), so that two
 * deployments on one NATS — or test runs side by side — never answer each other's requests.
 */
class PrefixedNatsServer extends ServerNats {
  constructor(
    options: Required<NatsOptions>['options'],
    private readonly prefix: string,
  ) {
    super(options);
  }

  override bindEvents(client: NatsConnection): void {
    const subscribe = (subject: string, options: SubscriptionOptions) => client.subscribe(`${this.prefix}.${subject}`, options);
    super.bindEvents(Object.create(client, { subscribe: { value: subscribe } }));
  }

  /** Each request in a span of the caller's trace (with tracing on). */
  override handleMessage(channel: string, message: Msg): Promise<unknown> {
    return inRequestSpan(message.subject, message.headers, () => super.handleMessage(channel, message));
  }
}

/** The NATS API of the hybrid app: request-reply handlers under the API prefix, in the deployment's queue group (shared by its replicas). */
export function natsApiOptions(events: EventsConfig): MicroserviceOptions {
  return {
    strategy: new PrefixedNatsServer(
      {
        ...natsConnectionOptions(events),
        queue: events.queueGroup,
        deserializer: new PlainJsonRequestDeserializer(),
        serializer: new PlainJsonReplySerializer(),
      },
      events.apiPrefix,
    ),
  };
}
