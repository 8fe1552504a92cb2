'use strict';
/**
 * The events relay's figures, measured on the running app (bench/run.js):
 *  - under the register scenario: how long an event took from its change (outbox created_at, the
 *    change's transaction time) to JetStream's acknowledgement (sent_at, set right after the ack);
 *  - drain: N events committed at once, and how fast the relay publishes them (events/s).
 * The app publishes to a stream of the bench's own on the machine's NATS, deleted at the end.
 */
const crypto = require('node:crypto');
const { connect } = require('nats');
const lib = require('./lib');

function benchStream(url) {
  const tag = crypto.randomBytes(3).toString('hex');
  return { url, prefix: `events.bench${tag}`, stream: `BENCH_${tag}` };
}

/** The app's environment for publishing into the bench's stream. */
function appEnv(events) {
  return events ? { USERS_ES_URL: events.url, USERS_ES_SUBJECT_PREFIX: events.prefix, USERS_ES_STREAM: events.stream } : { USERS_ES_URL: '' };
}

async function waitUntilSent(db, where, params, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await lib.withClient(db, (c) => c.query(`SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL AND ${where}`, params));
    if (rows[0].n === 0) return;
    if (Date.now() > deadline) throw new Error(`${rows[0].n} events still unsent after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Delay percentiles (ms) from change to JetStream ack, for the events of a time window. */
async function delaysDuring(db, window) {
  const where = `created_at >= $1 AND created_at < $2`;
  await waitUntilSent(db, where, [window.from, window.to]);
  const { rows } = await lib.withClient(db, (c) =>
    c.query(
      `SELECT count(*)::int AS events,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at) * 1000) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at) * 1000) AS p99,
              max(extract(epoch FROM sent_at - created_at) * 1000) AS max
       FROM outbox_events WHERE ${where}`,
      [window.from, window.to],
    ),
  );
  const seconds = (window.to - window.from) / 1000;
  return { events: rows[0].events, perSecond: rows[0].events / seconds, p50Ms: Number(rows[0].p50), p99Ms: Number(rows[0].p99), maxMs: Number(rows[0].max) };
}

/** Commits `count` events (over 1,000 users) in one transaction and times the relay publishing them all. */
async function drain(db, count) {
  const operation = 'user.update_tags';
  const committedAt = await lib.withClient(db, async (c) => {
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO outbox_events (id, user_id, operation, data)
       SELECT gen_random_uuid(), u.ids[1 + g % array_length(u.ids, 1)], $2, jsonb_build_object('tags', jsonb_build_array('drain-' || g), 'updated_by', NULL)
       FROM generate_series(1, $1) AS g, (SELECT array_agg(id) AS ids FROM (SELECT id FROM users LIMIT 1000) s) AS u`,
      [count, operation],
    );
    await c.query(`NOTIFY users_outbox`);
    await c.query('COMMIT');
    return new Date();
  });
  await waitUntilSent(db, `operation = $1 AND data->'tags'->>0 LIKE 'drain-%'`, [operation], 180000);
  const { rows } = await lib.withClient(db, (c) => c.query(`SELECT max(sent_at) AS last FROM outbox_events WHERE operation = $1 AND data->'tags'->>0 LIKE 'drain-%'`, [operation]));
  const seconds = (rows[0].last - committedAt) / 1000;
  return { events: count, seconds, perSecond: count / seconds };
}

/** How many messages reached the stream (a check that the figures are of real publishes). */
async function streamMessages(events) {
  const nc = await connect({ servers: events.url });
  try {
    const info = await (await nc.jetstreamManager()).streams.info(events.stream);
    return info.state.messages;
  } finally {
    await nc.close();
  }
}

async function deleteStream(events) {
  const nc = await connect({ servers: events.url }).catch(() => null);
  if (!nc) return;
  await (await nc.jetstreamManager()).streams.delete(events.stream).catch(() => undefined);
  await nc.close();
}

module.exports = { benchStream, appEnv, delaysDuring, drain, streamMessages, deleteStream };
