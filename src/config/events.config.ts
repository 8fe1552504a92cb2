import { registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { ConfigError, IsDuration, IsIntegerBetween, IsReadableFile, durationMs, toBoolean, unlessEmpty, validateConfig } from './validate-config';

const SUBJECT_TOKENS = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

class EventsEnv {
  /** NATS server(s), comma-separated; set but empty: no NATS (events wait in the outbox). */
  @IsOptional()
  @Matches(/^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, { message: 'USERS_ES_URL must be nats://host:port (comma-separated for several servers)' })
  USERS_ES_URL?: string;

  /** User and password for NATS (or `nats://user:password@host` in USERS_ES_URL). */
  @IsOptional()
  @IsString()
  USERS_ES_USER?: string;

  @IsOptional()
  @IsString()
  USERS_ES_PASSWORD?: string;

  /** A NATS authorization token (or `nats://token@host` in USERS_ES_URL). */
  @IsOptional()
  @IsString()
  USERS_ES_TOKEN?: string;

  /** A file with the NKey seed (`SU…`) the server knows this service by. */
  @IsOptional()
  @IsReadableFile()
  USERS_ES_NKEY_SEED_FILE?: string;

  /** A NATS credentials file (user JWT and NKey seed, decentralized auth). */
  @IsOptional()
  @IsReadableFile()
  USERS_ES_CREDS_FILE?: string;

  /** TLS: the CA that signed the server's certificate, and this client's certificate and key (mutual TLS). */
  @IsOptional()
  @IsReadableFile()
  USERS_ES_TLS_CA_FILE?: string;

  @IsOptional()
  @IsReadableFile()
  USERS_ES_TLS_CERT_FILE?: string;

  @IsOptional()
  @IsReadableFile()
  USERS_ES_TLS_KEY_FILE?: string;

  @IsString()
  @Matches(SUBJECT_TOKENS, { message: 'USERS_ES_SUBJECT_PREFIX must be NATS subject tokens separated by dots (no wildcards)' })
  USERS_ES_SUBJECT_PREFIX = 'events.users';

  /** The NATS API answers on `<prefix>.verify_token` and `<prefix>.get`: one prefix per deployment on a shared NATS. */
  @IsString()
  @Matches(SUBJECT_TOKENS, { message: 'USERS_ES_API_PREFIX must be NATS subject tokens separated by dots (no wildcards)' })
  USERS_ES_API_PREFIX = 'users';

  /** The queue group of the NATS API, so that the replicas of one deployment share its requests. */
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'USERS_ES_QUEUE_GROUP must be a NATS queue group name (letters, digits, _, - and .)' })
  USERS_ES_QUEUE_GROUP = 'users';

  /** The JetStream stream the relay publishes into (on `<prefix>.>`), created at startup when missing. */
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'USERS_ES_STREAM must be a JetStream stream name (letters, digits, _ and -)' })
  USERS_ES_STREAM = 'USERS_EVENTS';

  /** How long the stream keeps an event (they carry e-mail addresses): applied when the stream is created and on every start. */
  @IsDuration()
  USERS_ES_MAX_AGE = '720h';

  /** The stream's size limit in bytes; the oldest events go first. 0: no limit but the age. */
  @IsIntegerBetween(0)
  USERS_ES_MAX_BYTES = 1024 * 1024 * 1024;

  /** Copies of the stream in a JetStream cluster (3 survives the loss of a node); JetStream allows at most 5. */
  @IsIntegerBetween(1, 5)
  USERS_ES_REPLICAS = 1;

  /** How often the relay looks at the outbox when no commit woke it, and the pause after a failed run or a refused connection. */
  @IsDuration()
  USERS_ES_RELAY_POLL_INTERVAL = '1s';

  /** `private_metadata` is shown only to the user and admins: it goes into events only when this is true. */
  @Transform(toBoolean)
  @IsBoolean({ message: 'USERS_EVENTS_INCLUDE_PRIVATE must be true or false' })
  USERS_EVENTS_INCLUDE_PRIVATE = false;
}

/** How the service proves itself to NATS: at most one way. */
export type NatsAuth =
  | { kind: 'none' }
  | { kind: 'user'; user: string; pass: string }
  | { kind: 'token'; token: string }
  | { kind: 'nkey'; seedFile: string }
  | { kind: 'creds'; credsFile: string };

export interface NatsTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/**
 * The servers without credentials, and the credentials a URL carried (`nats://user:password@host`
 * or `nats://token@host`, percent-decoded), which the NATS client would otherwise ignore.
 */
function splitUrlCredentials(servers: string[]): { servers: string[]; auth?: NatsAuth } {
  let auth: NatsAuth | undefined;
  const stripped = servers.map((server) => {
    const url = new URL(server);
    if (!url.username) return server;
    const user = decodeURIComponent(url.username);
    auth = url.password ? { kind: 'user', user, pass: decodeURIComponent(url.password) } : { kind: 'token', token: user };
    return `${url.protocol}//${url.host}`;
  });
  return { servers: stripped, auth };
}

function natsAuth(env: EventsEnv, fromUrl: NatsAuth | undefined): NatsAuth {
  const problems: string[] = [];
  if (Boolean(env.USERS_ES_USER) !== Boolean(env.USERS_ES_PASSWORD)) problems.push('USERS_ES_USER and USERS_ES_PASSWORD must be set together');
  const given: NatsAuth[] = [
    ...(fromUrl ? [fromUrl] : []),
    ...(env.USERS_ES_USER && env.USERS_ES_PASSWORD ? [{ kind: 'user' as const, user: env.USERS_ES_USER, pass: env.USERS_ES_PASSWORD }] : []),
    ...(env.USERS_ES_TOKEN ? [{ kind: 'token' as const, token: env.USERS_ES_TOKEN }] : []),
    ...(env.USERS_ES_NKEY_SEED_FILE ? [{ kind: 'nkey' as const, seedFile: env.USERS_ES_NKEY_SEED_FILE }] : []),
    ...(env.USERS_ES_CREDS_FILE ? [{ kind: 'creds' as const, credsFile: env.USERS_ES_CREDS_FILE }] : []),
  ];
  if (given.length > 1) {
    problems.push('NATS credentials: give one of USERS_ES_USER/USERS_ES_PASSWORD, USERS_ES_TOKEN, USERS_ES_NKEY_SEED_FILE, USERS_ES_CREDS_FILE or credentials in USERS_ES_URL');
  }
  if (Boolean(env.USERS_ES_TLS_CERT_FILE) !== Boolean(env.USERS_ES_TLS_KEY_FILE)) problems.push('USERS_ES_TLS_CERT_FILE and USERS_ES_TLS_KEY_FILE must be set together');
  if (problems.length > 0) throw new ConfigError(problems);
  return given[0] ?? { kind: 'none' };
}

export const eventsConfig = registerAs('events', () => {
  const env = validateConfig(process.env, EventsEnv);
  const url = unlessEmpty(process.env, 'USERS_ES_URL', env.USERS_ES_URL ?? 'nats://localhost:4222');
  const { servers, auth } = url ? splitUrlCredentials(url.split(',')) : { servers: undefined, auth: undefined };
  const tls: NatsTls | undefined =
    env.USERS_ES_TLS_CA_FILE || env.USERS_ES_TLS_CERT_FILE ? { caFile: env.USERS_ES_TLS_CA_FILE, certFile: env.USERS_ES_TLS_CERT_FILE, keyFile: env.USERS_ES_TLS_KEY_FILE } : undefined;
  return {
    /** Undefined: no NATS at all (no relay, no NATS API); events stay in the outbox. */
    servers,
    auth: natsAuth(env, auth),
    tls,
    subjectPrefix: env.USERS_ES_SUBJECT_PREFIX,
    stream: env.USERS_ES_STREAM,
    maxAgeMs: durationMs(env.USERS_ES_MAX_AGE),
    maxBytes: env.USERS_ES_MAX_BYTES,
    replicas: env.USERS_ES_REPLICAS,
    /** The relay's latency when no NOTIFY wakes it, and at most one connection attempt per interval while NATS refuses. */
    pollIntervalMs: durationMs(env.USERS_ES_RELAY_POLL_INTERVAL),
    apiPrefix: env.USERS_ES_API_PREFIX,
    /** The queue group of the NATS API, so that replicas share its requests. */
    queueGroup: env.USERS_ES_QUEUE_GROUP,
    includePrivate: env.USERS_EVENTS_INCLUDE_PRIVATE,
  };
});

export type EventsConfig = ReturnType<typeof eventsConfig>;
