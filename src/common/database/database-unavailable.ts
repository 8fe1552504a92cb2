import { Logger } from '@nestjs/common';

/** Socket errors of a connection to PostgreSQL that cannot be made or was cut. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** SQLSTATEs of a server going away: admin_shutdown, crash_shutdown, cannot_connect_now (starting or stopping). */
const SERVER_GONE_STATES = new Set(['57P01', '57P02', '57P03']);
/**
 * Class 53, insufficient resources (too many connections, disk full, out of memory): the server is
 * there but cannot serve now. Anything FATAL ends the session: the server refused it (a database not
 * accepting connections, 55000, during maintenance) or killed it.
 */
const RESOURCE_STATE = /^53[0-9A-Z]{3}$/;
/** What `pg` and pg-pool say, without a code, when a connection ends mid-query or none can be had in time. */
const DRIVER_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
  /^Connection is not open/,
];

/**
 * TypeORM releases a transaction's connection when that connection fails between two of its queries
 * (its 'error' listener); the transaction's next query then reports the release, not the failure.
 */
const RELEASED_BY_FAILURE = new Set(['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError']);

/**
 * True when `error` (or the driver error or cause it wraps) says that PostgreSQL cannot be reached
 * right now: refused or cut connections, a server shutting down or starting, any SQLSTATE of class
 * 08 (connection exception) or 53 (insufficient resources), a FATAL error (the server ended or refused
 * the session), or no pooled connection within USERS_DB_POOL_TIMEOUT. Such a request is
 * worth retrying (503 with Retry-After), unlike a fault of ours (500).
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 3) return false;
  const { code, message, severity } = error as Error & { code?: unknown; severity?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_GONE_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code) || RESOURCE_STATE.test(code))) return true;
  if (severity === 'FATAL' || severity === 'PANIC') return true;
  if (RELEASED_BY_FAILURE.has(error.name) || DRIVER_MESSAGES.some((pattern) => pattern.test(message))) return true;
  // TypeORM wraps the driver's error; Node's happy-eyeballs connect wraps one error per address.
  const inner = [(error as { driverError?: unknown }).driverError, error.cause, ...(error instanceof AggregateError ? error.errors : [])];
  return inner.some((cause) => isDatabaseUnavailable(cause, depth + 1));
}

/** An expected outage is one line without a stack trace; the message and code say enough. */
export function databaseErrorSummary(error: unknown): { message: string; code?: string } {
  const { message, code } = error as Error & { code?: string };
  return { message, ...(code ? { code } : {}) };
}

/**
 * Logs a failed background run: a database outage as a warning without stack (it is expected and
 * passes by itself), anything else as an error with its stack.
 */
export function logFailure(logger: Logger, error: unknown, message: string): void {
  if (isDatabaseUnavailable(error)) logger.warn({ error: databaseErrorSummary(error) }, `${message}: the database is unavailable`);
  else logger.error({ err: error }, message);
}
