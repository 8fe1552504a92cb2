/**
 * Domain events (API.md §6) on real NATS JetStream servers, and the NATS API: every operation
 * publishes exactly its event with the payload asyncapi.yaml documents; events survive a NATS
 * outage and arrive once each, in order per user, also with two relays at once.
 */
import { randomUUID } from 'node:crypto';
import { JSONCodec, NatsConnection, connect, nanos } from 'nats';
import { OutboxEvent } from '../src/events/entities/outbox-event.entity';
import { EventsRelay } from '../src/events/events-relay.service';
import { SmtpSink, linkIn } from './support/smtp-sink';
import { MACHINE_NATS, NatsServer, StreamMessage, asyncApiValidators, deleteStream, isolatedStream, readStream, waitForStream } from './support/nats';
import { TestApp, createTestDatabase, startTestApp } from './support/test-app';
import { PASSWORD, bearer, createUser, login, loginAdmin, newUserBody } from './support/users';
import { expectEventually } from './support/eventually';

const json = JSONCodec<Record<string, unknown>>();
const validators = asyncApiValidators();

const byUser = (messages: StreamMessage[], userId: string) => messages.filter((m) => m.payload.user_id === userId);
const operationsOf = (messages: StreamMessage[]) => messages.map((m) => m.payload.operation);

/** Every payload matches its asyncapi.yaml schema, is on its subject, and carries its id as Nats-Msg-Id. */
function expectDocumented(messages: StreamMessage[], prefix: string) {
  for (const message of messages) {
    const operation = String(message.payload.operation);
    const validate = validators.get(operation);
    expect({ operation, documented: Boolean(validate) }).toEqual({ operation, documented: true });
    const valid = validate!(message.payload);
    expect({ operation, errors: valid ? null : validate!.errors }).toEqual({ operation, errors: null });
    expect(message.subject).toBe(`${prefix}.${operation}`);
    expect(message.msgId).toBe(message.payload.event_id);
  }
}

describe('domain events on the machine NATS (JetStream)', () => {
  const smtp = new SmtpSink();
  const { prefix, stream, api, env } = isolatedStream();
  let t: TestApp;
  let nc: NatsConnection;
  let admin: string;

  beforeAll(async () => {
    await smtp.start();
    nc = await connect({ servers: MACHINE_NATS });
    t = await startTestApp({
      env: { ...env(MACHINE_NATS), EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(smtp.port), USERS_DELETE_INTERVAL: '200ms', USERS_DELETE_AFTER: '1h' },
    });
    admin = await loginAdmin(t);
  });
  afterAll(async () => {
    await t.close();
    await deleteStream(nc, stream);
    await nc.close();
    await smtp.stop();
  });

  it('creates its stream, with a de-duplication window, on the configured subjects', async () => {
    await waitForStream(nc, stream, (messages) => messages.length > 0);
    const info = await (await nc.jetstreamManager()).streams.info(stream);
    expect(info.config.subjects).toEqual([`${prefix}.>`]);
    // Ten minutes, as the README promises (NATS' own default is two).
    expect(info.config.duplicate_window).toBe(nanos(10 * 60_000));
  });

  it('stores an event published again (a relay that died before marking it sent) once', async () => {
    const user = await createUser(t);
    await waitForStream(nc, stream, (all) => byUser(all, user.id).length >= 3);
    const { rows } = await t.db.query<{ id: string }>(`SELECT id FROM outbox_events WHERE user_id = $1 AND operation = 'user.create'`, [user.id]);
    const eventId = rows[0].id;
    await t.db.query(`UPDATE outbox_events SET sent_at = NULL WHERE id = $1`, [eventId]);
    // The relay publishes it again (a second acknowledged publish)…
    await expectEventually(async () => {
      const again = await t.db.query(`SELECT sent_at IS NOT NULL AS sent, attempts FROM outbox_events WHERE id = $1`, [eventId]);
      expect(again.rows[0]).toEqual({ sent: true, attempts: 2 });
    });
    // …and JetStream, knowing its Nats-Msg-Id, kept the first copy only.
    const messages = await readStream(nc, stream);
    expect(messages.filter((m) => m.payload.event_id === eventId)).toHaveLength(1);
  });

  it('publishes every operation on a user exactly once, in order, with its documented payload and nothing secret', async () => {
    const body = newUserBody();
    const created = await t.http.post('/users').send(body).expect(201);
    const id = created.body.id as string;
    const expected = ['user.create', 'user.send_verification'];
    const secrets: string[] = [body.credentials.secret];

    await t.http.get(pathOf(linkIn(await smtp.waitFor(body.email)))).expect(200);
    expected.push('user.verify_email');
    const first = await login(t, body.email, PASSWORD);
    const second = await login(t, body.email, PASSWORD);
    expected.push('user.issue_token', 'user.issue_token');
    secrets.push(first.accessToken, first.refreshToken, second.refreshToken);
    const refreshed = await t.http.post('/users/tokens/refresh').send({ refresh_token: first.refreshToken }).expect(201);
    expected.push('user.refresh_token');
    const token = refreshed.body.access_token as string;
    secrets.push(token, refreshed.body.refresh_token);
    const sessions = await t.http.get('/users/tokens/refresh-tokens').set(bearer(token)).expect(200);
    const other = sessions.body.refresh_tokens.find((s: { id: string }) => s.id !== decodeSid(token));
    await t.http.post('/users/tokens/revoke').set(bearer(token)).send({ token_id: other.id }).expect(204);
    expected.push('user.revoke_token');

    await t.http.patch(`/users/${id}`).set(bearer(token)).send({ first_name: 'Augusta', metadata: { team: 'events' } }).expect(200);
    await t.http.patch(`/users/${id}/username`).set(bearer(token)).send({ username: `aug_${id.slice(0, 8)}` }).expect(200);
    await t.http.patch(`/users/${id}/picture`).set(bearer(token)).send({ profile_picture: 'https://example.com/a.png' }).expect(200);
    await t.http.patch(`/users/${id}/tags`).set(bearer(token)).send({ tags: ['iot', 'beta'] }).expect(200);
    await t.http.patch(`/users/${id}/role`).set(bearer(admin)).send({ role: 'admin' }).expect(200);
    await t.http.patch('/users/secret').set(bearer(token)).send({ old_secret: PASSWORD, new_secret: 'second-password' }).expect(200);
    expected.push('user.update', 'user.update_username', 'user.update_picture', 'user.update_tags', 'user.update_role', 'user.update_secret');

    const moved = `moved.${body.email}`;
    await t.http.patch(`/users/${id}/email`).set(bearer(token)).send({ email: moved }).expect(200);
    expected.push('user.update_email', 'user.send_verification');
    await t.http.get(pathOf(linkIn(await smtp.waitFor(moved)))).expect(200);
    expected.push('user.verify_email');

    await t.http.post('/password/reset-request').send({ email: moved }).expect(201);
    expected.push('user.send_password_reset');
    const reset = linkIn(await smtp.waitFor(moved, 2)).searchParams.get('token') as string;
    await t.http.put('/password/reset').send({ token: reset, password: 'third-password', confirm_password: 'third-password' }).expect(201);
    expected.push('user.reset_secret');
    const again = await login(t, moved, 'third-password');
    await t.http.post('/users/logout').set(bearer(again.accessToken)).expect(204);
    expected.push('user.issue_token', 'user.logout');

    await t.http.post(`/users/${id}/disable`).set(bearer(admin)).expect(200);
    await t.http.post(`/users/${id}/enable`).set(bearer(admin)).expect(200);
    await t.http.delete(`/users/${id}`).set(bearer(admin)).expect(204);
    expected.push('user.disable', 'user.enable', 'user.delete');
    // Deleted long enough ago: the scheduler (every 200 ms here) purges the user.
    await t.db.query(`UPDATE users SET deleted_at = now() - interval '2 hours' WHERE id = $1`, [id]);
    expected.push('user.purge');

    const messages = byUser(await waitForStream(nc, stream, (all) => byUser(all, id).length >= expected.length), id);
    expect(operationsOf(messages)).toEqual(expected);
    expectDocumented(messages, prefix);
    expect(new Set(messages.map((m) => m.payload.event_id)).size).toBe(messages.length);
    const text = JSON.stringify(messages);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain('$argon2');

    const byOperation = (operation: string) => messages.filter((m) => m.payload.operation === operation).map((m) => m.payload);
    expect(byOperation('user.create')[0]).toMatchObject({ id, email: body.email, actor_id: null, request_id: expect.any(String) });
    expect(byOperation('user.update')[0]).toEqual(expect.objectContaining({ first_name: 'Augusta', metadata: { team: 'events' }, updated_by: id, actor_id: id }));
    expect(byOperation('user.update')[0]).not.toHaveProperty('last_name');
    expect(byOperation('user.update_role')[0]).toMatchObject({ role: 'admin', actor_id: expect.not.stringMatching(id) });
    expect(byOperation('user.purge')[0]).toMatchObject({ actor_id: null, request_id: null });
  });

  it('gives each event the request id of the change', async () => {
    const requestId = `req-${randomUUID()}`;
    const created = await t.http.post('/users').set('X-Request-Id', requestId).send(newUserBody()).expect(201);
    const [message] = byUser(await waitForStream(nc, stream, (all) => byUser(all, created.body.id).length >= 1), created.body.id);
    expect(message.payload).toMatchObject({ operation: 'user.create', request_id: requestId });
  });

  it('records no event for a change that failed, and an invite as user.create then user.invite', async () => {
    const user = await createUser(t);
    await t.http.post('/users').send(newUserBody({ email: user.email })).expect(409);
    await t.http.patch(`/users/${user.id}/username`).set(bearer(user.accessToken)).send({ username: 'admin' }).expect(409);
    const invited = await t.http.post('/users/invite').set(bearer(admin)).send({ email: `inv.${user.email}` }).expect(201);

    const messages = await waitForStream(nc, stream, (all) => byUser(all, invited.body.id).length >= 2);
    expect(operationsOf(byUser(messages, invited.body.id))).toEqual(['user.create', 'user.invite']);
    expect(operationsOf(byUser(messages, user.id))).toEqual(['user.create', 'user.send_verification', 'user.issue_token']);
    const { rows } = await t.db.query(`SELECT count(*)::int AS n FROM outbox_events WHERE user_id = $1`, [user.id]);
    expect(rows[0].n).toBe(3);
  });

  it('reports NATS in readiness, and the unsent events as a figure, not as unreadiness', async () => {
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body.details).toEqual({
      database: { status: 'up' },
      nats: { status: 'up' },
      // The outcome of the last delivery to the SMTP sink (none yet: unknown).
      smtp: expect.objectContaining({ status: expect.stringMatching(/^(up|unknown)$/) }),
      outbox: { status: 'up', pending: expect.any(Number) },
      mail: { status: 'up', pending: expect.any(Number), failed: expect.any(Number) },
    });
  });

  describe('the NATS API (request-reply, plain JSON)', () => {
    const request = async (name: string, body: unknown) => json.decode((await nc.request(api(name), json.encode(body as Record<string, unknown>), { timeout: 5000 })).data);

    it('users.verify_token answers whose valid access token it is, and a coded error otherwise', async () => {
      const user = await createUser(t);
      const claims = JSON.parse(Buffer.from(user.accessToken.split('.')[1], 'base64url').toString());
      expect(await request('verify_token', { token: user.accessToken })).toEqual({
        user_id: user.id,
        role: 'user',
        verified: true,
        session_id: claims.sid,
        aal: 'aal1',
        expires_at: new Date(claims.exp * 1000).toISOString(),
      });
      const forged = `${user.accessToken.slice(0, -4)}AAAA`;
      expect(await request('verify_token', { token: forged })).toEqual({ error: { statusCode: 401, code: 'TOKEN_INVALID', message: expect.any(String) } });
      expect(await request('verify_token', { token: user.refreshToken })).toMatchObject({ error: { code: 'TOKEN_INVALID' } });
      expect(await request('verify_token', {})).toMatchObject({ error: { statusCode: 400, code: 'VALIDATION_FAILED' } });

      await t.http.post('/users/logout').set(bearer(user.accessToken)).expect(204);
      expect(await request('verify_token', { token: user.accessToken })).toMatchObject({ error: { code: 'TOKEN_REVOKED' } });
    });

    it('answers a body that is not JSON, or not an object, with VALIDATION_FAILED, and keeps serving', async () => {
      const raw = async (name: string, body: string) => json.decode((await nc.request(api(name), new TextEncoder().encode(body), { timeout: 5000 })).data);
      for (const subject of ['verify_token', 'get']) {
        for (const body of ['not json', '', 'null', '42', '[]']) {
          expect({ subject, body, reply: await raw(subject, body) }).toEqual({ subject, body, reply: { error: expect.objectContaining({ statusCode: 400, code: 'VALIDATION_FAILED' }) } });
        }
      }
      const user = await createUser(t);
      expect(await request('get', { id: user.id })).toMatchObject({ id: user.id });
    });

    it('users.get answers the public view of an enabled user', async () => {
      const user = await createUser(t, { metadata: { team: 'nats' }, private_metadata: { plan: 'secret' } });
      const view = await request('get', { id: user.id });
      expect(view).toEqual({ id: user.id, first_name: 'Ada', last_name: 'Lovelace', credentials: { username: user.username }, profile_picture: null, metadata: { team: 'nats' } });
      expect(await request('get', { id: randomUUID() })).toEqual({ error: { statusCode: 404, code: 'USER_NOT_FOUND', message: 'user not found' } });
      expect(await request('get', { id: 'not-a-uuid' })).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
      for (const reply of [view, await request('get', { id: randomUUID() })]) {
        expect(validators.get('users.get reply')!(reply)).toBe(true);
      }
    });
  });
});

describe('events when NATS is down', () => {
  const { prefix, stream, env } = isolatedStream();
  const server = new NatsServer();
  let t: TestApp;

  beforeAll(async () => {
    await server.start();
    t = await startTestApp({ env: env(server.url) });
  });
  afterAll(async () => {
    await t.close();
    await server.destroy();
  });

  it('keeps the 200 changes made during an outage and publishes them all once NATS is back, once each, in per-user order', async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => createUser(t)));
    const nc = await connect({ servers: server.url });
    await waitForStream(nc, stream, (all) => users.every((u) => byUser(all, u.id).length >= 3));
    await nc.close();

    await server.stop();
    // Readiness reports NATS down but stays 200: HTTP works and the events wait in the outbox.
    await expectEventually(async () => expect((await t.http.get('/health/ready').expect(200)).body.details.nats.status).toBe('down'));
    // 20 tag changes per user, in a known order.
    for (let round = 0; round < 20; round++) {
      await Promise.all(users.map((user) => t.http.patch(`/users/${user.id}/tags`).set(bearer(user.accessToken)).send({ tags: [`round-${round}`] }).expect(200)));
    }
    const pending = await t.http.get('/health/ready');
    expect(pending.status).toBe(200);
    expect(pending.body.details.nats.status).toBe('down');
    expect(pending.body.details.outbox.pending).toBeGreaterThanOrEqual(200);

    await server.start();
    const back = await connect({ servers: server.url });
    const messages = await waitForStream(back, stream, (all) => users.every((u) => byUser(all, u.id).length >= 23), 120_000);
    for (const user of users) {
      const tags = byUser(messages, user.id).filter((m) => m.payload.operation === 'user.update_tags').map((m) => (m.payload.tags as string[])[0]);
      expect(tags).toEqual(Array.from({ length: 20 }, (_, round) => `round-${round}`));
    }
    expect(new Set(messages.map((m) => m.payload.event_id)).size).toBe(messages.length);
    expectDocumented(messages, prefix);
    await back.close();
    await expectEventually(async () => expect((await t.http.get('/health/ready').expect(200)).body.details.nats.status).toBe('up'));
    const { rows } = await t.db.query(`SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL`);
    expect(rows[0].n).toBe(0);
  });
});

describe('two relays at once', () => {
  const { stream, env } = isolatedStream();
  const server = new NatsServer();

  beforeAll(() => server.start());
  afterAll(() => server.destroy());

  it('lose nothing and keep each user’s order', async () => {
    const database = await createTestDatabase();
    const replicas = [await startTestApp({ database: database.name, env: env(server.url) }), await startTestApp({ database: database.name, env: env(server.url) })];
    try {
      const users = await Promise.all(Array.from({ length: 8 }, (_, i) => createUser(replicas[i % 2])));
      for (let round = 0; round < 15; round++) {
        await Promise.all(users.map((user, i) => replicas[(i + round) % 2].http.patch(`/users/${user.id}/tags`).set(bearer(user.accessToken)).send({ tags: [`r${round}`] }).expect(200)));
      }
      const nc = await connect({ servers: server.url });
      const messages = await waitForStream(nc, stream, (all) => users.every((u) => byUser(all, u.id).length >= 18));
      await nc.close();
      const { rows } = await replicas[0].db.query<{ user_id: string; id: string }>(`SELECT user_id, id FROM outbox_events ORDER BY seq`);
      for (const user of users) {
        const recorded = rows.filter((row) => row.user_id === user.id).map((row) => row.id);
        expect(byUser(messages, user.id).map((m) => m.payload.event_id)).toEqual(recorded);
      }
      expect(messages).toHaveLength(rows.length);
    } finally {
      for (const replica of replicas.reverse()) await replica.close();
      await database.drop();
    }
  }, 120_000);

  it('keep each user’s order while one relay is held between claiming a batch and publishing it', async () => {
    const database = await createTestDatabase();
    const replicas = [await startTestApp({ database: database.name, env: env(server.url) }), await startTestApp({ database: database.name, env: env(server.url) })];
    const nc = await connect({ servers: server.url });
    let release = () => {};
    try {
      const users = await Promise.all(Array.from({ length: 4 }, (_, i) => createUser(replicas[i % 2])));
      await expectEventually(async () => {
        const { rows } = await replicas[0].db.query(`SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL`);
        expect(rows[0].n).toBe(0);
      });
      // From now on, the first relay to claim events stays there (its rows locked) until released.
      const released = new Promise<void>((resolve) => (release = resolve));
      const claims = [0, 0];
      let held: { by: number; events: readonly OutboxEvent[] } | undefined;
      replicas.forEach((replica, i) => {
        replica.app.get(EventsRelay).afterClaimForTests = async (batch) => {
          claims[i]++;
          if (held || batch.length === 0) return;
          held = { by: i, events: batch };
          await released;
        };
      });
      // Many events of few users, while the other relay keeps claiming.
      for (let round = 0; round < 10; round++) {
        await Promise.all(users.map((user, i) => replicas[(i + round) % 2].http.patch(`/users/${user.id}/tags`).set(bearer(user.accessToken)).send({ tags: [`r${round}`] }).expect(200)));
      }
      await expectEventually(() => expect(held).toBeDefined());
      // Two more claims by the other relay: the second began after every change above had committed.
      const other = 1 - held!.by;
      const seen = claims[other];
      await expectEventually(() => expect(claims[other]).toBeGreaterThanOrEqual(seen + 2));
      release();

      const messages = await waitForStream(nc, stream, (all) => users.every((u) => byUser(all, u.id).length >= 13));
      const { rows } = await replicas[0].db.query<{ user_id: string; id: string }>(`SELECT user_id, id FROM outbox_events ORDER BY seq`);
      for (const user of users) {
        const recorded = rows.filter((row) => row.user_id === user.id).map((row) => row.id);
        expect(byUser(messages, user.id).map((m) => m.payload.event_id)).toEqual(recorded);
      }
    } finally {
      release();
      await nc.close();
      for (const replica of replicas.reverse()) await replica.close();
      await database.drop();
    }
  }, 120_000);
});

describe('without NATS (USERS_ES_URL empty)', () => {
  it('keeps every event in the outbox and is ready without NATS', async () => {
    const t = await startTestApp({ env: { USERS_ES_URL: '' } });
    try {
      const user = await createUser(t);
      const { rows } = await t.db.query(`SELECT operation, sent_at FROM outbox_events WHERE user_id = $1 ORDER BY seq`, [user.id]);
      expect(rows).toEqual([
        { operation: 'user.create', sent_at: null },
        { operation: 'user.send_verification', sent_at: null },
        { operation: 'user.issue_token', sent_at: null },
      ]);
      const ready = await t.http.get('/health/ready').expect(200);
      expect(Object.keys(ready.body.details)).toEqual(['database', 'smtp', 'outbox', 'mail']);
    } finally {
      await t.close();
    }
  });
});

const pathOf = (url: URL) => `${url.pathname}${url.search}`;
const decodeSid = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid as string;
