/**
 * The e-mail flows end to end (API.md §4: send-verification, verify-email, password reset, invite)
 * through a real SMTP server on loopback: every mail is received, parsed and its link followed
 * through the API.
 */
import { Response } from 'supertest';
import { MAIL_CHANNEL } from '../src/mail/mail-queue.service';
import { startBuiltApp } from './support/built-app';
import { SmtpSink, linkIn } from './support/smtp-sink';
import { databaseEnv } from './support/postgres';
import { ADMIN, TestApp, createTestDatabase, startTestApp } from './support/test-app';
import { PASSWORD, bearer, createUser, login, loginAdmin, newUserBody } from './support/users';
import { expectEventually } from './support/eventually';

const RESET_PAGE = 'https://app.example.com/password/reset';
const INVITE_PAGE = 'https://app.example.com/invite';

function mailEnv(smtp: SmtpSink, extra: Record<string, string> = {}): Record<string, string> {
  return {
    EMAIL_HOST: '127.0.0.1',
    EMAIL_PORT: String(smtp.port),
    EMAIL_FROM_ADDRESS: 'accounts@example.com',
    EMAIL_FROM_NAME: 'Example Accounts',
    EMAIL_SITE_NAME: 'Example Cloud',
    EMAIL_VERIFICATION_SUBJECT: 'Please verify your address',
    EMAIL_PASSWORD_RESET_SUBJECT: 'Your password reset link',
    EMAIL_INVITE_SUBJECT: 'Join Example Cloud',
    PASSWORD_RESET_URL_PREFIX: RESET_PAGE,
    INVITE_URL_PREFIX: INVITE_PAGE,
    EMAIL_RETRY_DELAY: '200ms',
    ...extra,
  };
}

const errorOf = (response: Response) => ({ status: response.status, code: response.body.code as string });

/** Path and query of a mailed link, to call through supertest. */
const pathOf = (url: URL) => `${url.pathname}${url.search}`;
const tokenOf = (url: URL) => url.searchParams.get('token') as string;

async function operations(t: TestApp, userId: string): Promise<string[]> {
  const { rows } = await t.db.query<{ operation: string }>('SELECT operation FROM outbox_events WHERE user_id = $1 ORDER BY seq', [userId]);
  return rows.map((row) => row.operation);
}

/**
 * Waits until the queue is drained: every mail sent or given up. A mail is marked sent only after the
 * SMTP server took it, so from then on no copy of a queued mail can still arrive.
 */
async function drained(t: TestApp): Promise<void> {
  await expectEventually(async () => {
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL`);
    expect(rows[0].n).toBe(0);
  });
}

describe('e-mail flows through a real SMTP server', () => {
  const smtp = new SmtpSink();
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({ env: mailEnv(smtp) });
    admin = await loginAdmin(t);
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  describe('verification', () => {
    it('mails a verification link at registration, with both parts rendered, which verifies the address once', async () => {
      const body = newUserBody({ first_name: 'Grace', last_name: 'Hopper' });
      const created = await t.http.post('/users').send(body).expect(201);
      expect(created.body.verified_at).toBeNull();

      const mail = await smtp.waitFor(body.email);
      expect(mail.subject).toBe('Please verify your address');
      expect(mail.to).toBe(body.email);
      expect(mail.parsed.from?.value).toEqual([{ name: 'Example Accounts', address: 'accounts@example.com' }]);
      const link = linkIn(mail);
      expect(link.origin + link.pathname).toBe('http://localhost:9002/verify-email');
      for (const part of [mail.html, mail.text]) {
        expect(part).toContain('Grace Hopper');
        expect(part).toContain('Example Cloud');
        expect(part).toContain('24 hours');
        expect(part).toContain(body.email);
        expect(part).toContain(tokenOf(link));
      }
      expect(mail.text).not.toContain('<');

      const verified = await t.http.get(pathOf(link)).expect(200);
      expect(verified.body).toEqual({ msg: 'Email verified' });
      const { accessToken } = await login(t, body.email, PASSWORD);
      const profile = await t.http.get('/users/profile').set(bearer(accessToken)).expect(200);
      expect(profile.body.verified_at).toEqual(expect.any(String));

      expect(errorOf(await t.http.get(pathOf(link)))).toEqual({ status: 400, code: 'LINK_TOKEN_USED' });
      expect(await operations(t, created.body.id)).toEqual(['user.create', 'user.send_verification', 'user.verify_email', 'user.issue_token']);
    });

    it('resends on request (replacing the earlier link), at most once per EMAIL_MIN_INTERVAL, and never to a verified user', async () => {
      const user = await createUser(t, {}, { verified: false });
      const first = linkIn(await smtp.waitFor(user.email));

      // The registration mail took this address's slot a moment ago.
      const throttled = await t.http.post('/users/send-verification').set(bearer(user.accessToken));
      expect(errorOf(throttled)).toEqual({ status: 429, code: 'TOO_MANY_REQUESTS' });
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(throttled.headers['retry-after'])).toBeLessThanOrEqual(60);

      await t.db.query('UPDATE mail_throttle SET last_at = last_at - interval \'61 seconds\' WHERE recipient = $1', [user.email]);
      const resent = await t.http.post('/users/send-verification').set(bearer(user.accessToken)).expect(200);
      expect(resent.body).toEqual({ msg: 'Verification e-mail sent' });
      const second = linkIn(await smtp.waitFor(user.email, 2));
      expect(tokenOf(second)).not.toBe(tokenOf(first));

      expect(errorOf(await t.http.get(pathOf(first)))).toEqual({ status: 400, code: 'LINK_TOKEN_INVALID' });
      await t.http.get(pathOf(second)).expect(200);
      expect(errorOf(await t.http.post('/users/send-verification').set(bearer(user.accessToken)))).toEqual({ status: 422, code: 'ALREADY_VERIFIED' });
    });

    it('refuses an unverified user everywhere but their profile, tokens, verification, e-mail change and password reset', async () => {
      const user = await createUser(t, {}, { verified: false });
      const other = await createUser(t);
      const refused = [
        t.http.get(`/users/${other.id}`),
        t.http.get('/users/search?username=ada'),
        t.http.patch(`/users/${user.id}`).send({ first_name: 'Eve' }),
        t.http.patch(`/users/${user.id}/tags`).send({ tags: ['x'] }),
      ];
      for (const request of refused) expect(errorOf(await request.set(bearer(user.accessToken)))).toEqual({ status: 401, code: 'EMAIL_NOT_VERIFIED' });

      await t.http.get('/users/profile').set(bearer(user.accessToken)).expect(200);
      await t.http.get('/users/tokens/refresh-tokens').set(bearer(user.accessToken)).expect(200);
      await t.http.post('/users/tokens/refresh').send({ refresh_token: user.refreshToken }).expect(201);
      await t.http.post('/password/reset-request').send({ email: user.email }).expect(201);
      const changed = await t.http.patch(`/users/${user.id}/email`).set(bearer(user.accessToken)).send({ email: `new.${user.email}` }).expect(200);
      expect(changed.body.email).toBe(`new.${user.email}`);

      await t.http.get(pathOf(linkIn(await smtp.waitFor(`new.${user.email}`)))).expect(200);
      await t.http.get(`/users/${other.id}`).set(bearer(user.accessToken)).expect(200);
    });

    it('a new address clears verified_at and gets its own link; a link to the old address no longer verifies', async () => {
      const user = await createUser(t, {}, { verified: false });
      const oldLink = linkIn(await smtp.waitFor(user.email));
      await t.db.query('UPDATE users SET verified_at = now() WHERE id = $1', [user.id]);

      const moved = `moved.${user.email}`;
      const changed = await t.http.patch(`/users/${user.id}/email`).set(bearer(user.accessToken)).send({ email: moved.toUpperCase() }).expect(200);
      expect(changed.body).toMatchObject({ email: moved, verified_at: null });
      const newLink = linkIn(await smtp.waitFor(moved));

      expect(errorOf(await t.http.get(pathOf(oldLink)))).toEqual({ status: 400, code: 'LINK_TOKEN_INVALID' });
      await t.http.get(pathOf(newLink)).expect(200);
      expect(await operations(t, user.id)).toEqual(
        expect.arrayContaining(['user.update_email', 'user.send_verification', 'user.verify_email']),
      );
    });

    it('refuses a missing, malformed, tampered, expired or wrong-type token with its own code', async () => {
      const user = await createUser(t, {}, { verified: false });
      const token = tokenOf(linkIn(await smtp.waitFor(user.email)));

      expect(errorOf(await t.http.get('/verify-email'))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(errorOf(await t.http.get('/verify-email?token=not-a-token'))).toEqual({ status: 400, code: 'LINK_TOKEN_INVALID' });
      const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      expect(errorOf(await t.http.get(`/verify-email?token=${tampered}`))).toEqual({ status: 400, code: 'LINK_TOKEN_INVALID' });
      expect(errorOf(await t.http.get(`/verify-email?token=${user.refreshToken}`))).toEqual({ status: 400, code: 'LINK_TOKEN_INVALID' });
      expect(errorOf(await t.http.get(`/verify-email?token=${user.accessToken}`))).toEqual({ status: 400, code: 'LINK_TOKEN_INVALID' });

      await t.http.post('/password/reset-request').send({ email: user.email }).expect(201);
      const recovery = tokenOf(linkIn(await smtp.waitFor(user.email, 2)));
      expect(errorOf(await t.http.get(`/verify-email?token=${recovery}`))).toEqual({ status: 400, code: 'LINK_TOKEN_WRONG_TYPE' });

      await t.db.query(`UPDATE link_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND purpose = 'verification'`, [user.id]);
      expect(errorOf(await t.http.get(`/verify-email?token=${token}`))).toEqual({ status: 400, code: 'LINK_TOKEN_EXPIRED' });
    });

    it('a verification token is no access token', async () => {
      const user = await createUser(t, {}, { verified: false });
      const token = tokenOf(linkIn(await smtp.waitFor(user.email)));
      expect(errorOf(await t.http.get('/users/profile').set(bearer(token)))).toEqual({ status: 401, code: 'TOKEN_INVALID' });
    });
  });

  describe('password reset', () => {
    it('mails a recovery link that sets a new password once and ends every session', async () => {
      const user = await createUser(t, { first_name: 'Katherine', last_name: 'Johnson' });
      const requested = await t.http.post('/password/reset-request').send({ email: user.email.toUpperCase() }).expect(201);
      expect(requested.body).toEqual({ msg: 'Email with reset link is sent' });

      // The first mail was the registration's verification link.
      const mail = await smtp.waitFor(user.email, 2);
      expect(mail.subject).toBe('Your password reset link');
      const link = linkIn(mail);
      expect(link.origin + link.pathname).toBe(RESET_PAGE);
      for (const part of [mail.html, mail.text]) {
        expect(part).toContain('Katherine Johnson');
        expect(part).toContain('15 minutes');
        expect(part).toContain('Example Cloud');
      }

      const token = tokenOf(link);
      const mismatch = await t.http.put('/password/reset').send({ token, password: 'brand-new-secret', confirm_password: 'other-secret-1' });
      expect(errorOf(mismatch)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(mismatch.body.details).toEqual([{ field: 'confirm_password', problem: 'must equal password' }]);
      expect(errorOf(await t.http.put('/password/reset').send({ token, password: 'short', confirm_password: 'short' }))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });

      const reset = await t.http.put('/password/reset').send({ token, password: 'brand-new-secret', confirm_password: 'brand-new-secret' }).expect(201);
      expect(reset.body).toEqual({});

      expect(errorOf(await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: user.password }))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
      await login(t, user.email, 'brand-new-secret');
      expect(errorOf(await t.http.post('/users/tokens/refresh').send({ refresh_token: user.refreshToken }))).toEqual({ status: 401, code: 'REFRESH_TOKEN_INVALID' });
      expect(errorOf(await t.http.get('/users/profile').set(bearer(user.accessToken)))).toEqual({ status: 401, code: 'TOKEN_REVOKED' });

      const again = await t.http.put('/password/reset').send({ token, password: 'another-new-secret', confirm_password: 'another-new-secret' });
      expect(errorOf(again)).toEqual({ status: 400, code: 'LINK_TOKEN_USED' });
      expect(await operations(t, user.id)).toEqual(expect.arrayContaining(['user.send_password_reset', 'user.reset_secret']));
    });

    it('takes the token as a bearer token too, verifies the address it went to, and refuses an expired one', async () => {
      const user = await createUser(t, {}, { verified: false });
      await t.http.post('/password/reset-request').send({ email: user.email }).expect(201);
      const token = tokenOf(linkIn(await smtp.waitFor(user.email, 2)));
      await t.http.put('/password/reset').set(bearer(token)).send({ password: 'bearer-reset-pw', confirm_password: 'bearer-reset-pw' }).expect(201);
      const { accessToken } = await login(t, user.email, 'bearer-reset-pw');
      expect((await t.http.get('/users/profile').set(bearer(accessToken))).body.verified_at).toEqual(expect.any(String));

      await t.db.query(`UPDATE mail_throttle SET last_at = last_at - interval '61 seconds' WHERE recipient = $1`, [user.email]);
      await t.http.post('/password/reset-request').send({ email: user.email }).expect(201);
      const expiring = tokenOf(linkIn(await smtp.waitFor(user.email, 3)));
      await t.db.query(`UPDATE link_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND purpose = 'recovery' AND used_at IS NULL`, [user.id]);
      const expired = await t.http.put('/password/reset').send({ token: expiring, password: 'too-late-pw', confirm_password: 'too-late-pw' });
      expect(errorOf(expired)).toEqual({ status: 400, code: 'LINK_TOKEN_EXPIRED' });
    });

    it('answers the same for an unknown, disabled or throttled address, and mails nothing then', async () => {
      const unknown = `nobody.${Date.now()}@example.com`;
      const user = await createUser(t);
      const disabled = await createUser(t);
      await t.http.post(`/users/${disabled.id}/disable`).set(bearer(admin)).expect(200);

      const answers: unknown[] = [];
      for (const email of [unknown, user.email, user.email, disabled.email]) {
        const response = await t.http.post('/password/reset-request').send({ email }).expect(201);
        answers.push(response.body);
      }
      expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);

      await smtp.waitFor(user.email, 2);
      const queued = await t.db.query<{ recipient: string; n: number }>(
        `SELECT recipient, count(*)::int AS n FROM mail_outbox WHERE kind = 'password_reset' AND recipient = ANY($1) GROUP BY recipient`,
        [[unknown, user.email, disabled.email]],
      );
      expect(queued.rows).toEqual([{ recipient: user.email, n: 1 }]);
    });

    it('refuses wrong-type, tampered and foreign tokens, and bad bodies', async () => {
      const user = await createUser(t, {}, { verified: false });
      const verification = tokenOf(linkIn(await smtp.waitFor(user.email)));
      const body = { password: 'whatever-secret', confirm_password: 'whatever-secret' };
      expect(errorOf(await t.http.put('/password/reset').send({ ...body, token: verification }))).toEqual({ status: 400, code: 'LINK_TOKEN_WRONG_TYPE' });
      expect(errorOf(await t.http.put('/password/reset').send({ ...body, token: user.refreshToken }))).toEqual({ status: 400, code: 'LINK_TOKEN_INVALID' });
      expect(errorOf(await t.http.put('/password/reset').set(bearer(user.accessToken)).send(body))).toEqual({ status: 400, code: 'LINK_TOKEN_INVALID' });
      expect(errorOf(await t.http.put('/password/reset').send(body))).toEqual({ status: 400, code: 'LINK_TOKEN_INVALID' });
      expect(errorOf(await t.http.put('/password/reset').send({ token: verification }))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(errorOf(await t.http.post('/password/reset-request').send({ email: 'not-an-address' }))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(errorOf(await t.http.post('/password/reset-request').send({ email: user.email, extra: 1 }))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });
  });

  describe('invitations', () => {
    it('an admin invites a user, who sets a password through the mailed link and can then log in, verified', async () => {
      const email = `invitee.${Date.now()}@example.com`;
      const invited = await t.http.post('/users/invite').set(bearer(admin)).send({ email, first_name: 'Mary', last_name: 'Jackson' }).expect(201);
      expect(invited.headers.location).toBe(`/users/${invited.body.id}`);
      expect(invited.body).toMatchObject({ email, status: 'enabled', role: 'user', verified_at: null, credentials: { username: null } });
      expect(errorOf(await t.http.post('/users/tokens/issue').send({ identity: email, secret: 'anything-at-all' }))).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });

      const mail = await smtp.waitFor(email);
      expect(mail.subject).toBe('Join Example Cloud');
      const link = linkIn(mail);
      expect(link.origin + link.pathname).toBe(INVITE_PAGE);
      expect(mail.text).toContain('Mary Jackson');
      expect(mail.text).toContain('3 days');

      await t.http.put('/password/reset').send({ token: tokenOf(link), password: 'invited-secret', confirm_password: 'invited-secret' }).expect(201);
      const { accessToken } = await login(t, email, 'invited-secret');
      expect((await t.http.get('/users/profile').set(bearer(accessToken))).body.verified_at).toEqual(expect.any(String));
      expect(await operations(t, invited.body.id)).toEqual(['user.create', 'user.invite', 'user.reset_secret', 'user.verify_email', 'user.issue_token']);
    });

    it('inviting a pending invitee again mails a new link (200, same user) and the old link stops working; once taken up, the address is taken (409)', async () => {
      const email = `again.${Date.now()}@example.com`;
      const first = await t.http.post('/users/invite').set(bearer(admin)).send({ email, first_name: 'Dorothy' }).expect(201);
      const firstLink = linkIn(await smtp.waitFor(email));
      const second = await t.http.post('/users/invite').set(bearer(admin)).send({ email, first_name: 'Dorothy' }).expect(200);
      expect(second.body).toMatchObject({ id: first.body.id, email, first_name: 'Dorothy' });
      expect(second.headers.location).toBe(`/users/${first.body.id}`);
      const secondLink = linkIn(await smtp.waitFor(email, 2));
      expect(tokenOf(secondLink)).not.toBe(tokenOf(firstLink));

      const body = { password: 'invited-again', confirm_password: 'invited-again' };
      expect((await t.http.put('/password/reset').send({ ...body, token: tokenOf(firstLink) })).status).toBe(400);
      await t.http.put('/password/reset').send({ ...body, token: tokenOf(secondLink) }).expect(201);
      expect(errorOf(await t.http.post('/users/invite').set(bearer(admin)).send({ email }))).toEqual({ status: 409, code: 'EMAIL_TAKEN' });
      expect(await operations(t, first.body.id)).toEqual(['user.create', 'user.invite', 'user.invite', 'user.reset_secret', 'user.verify_email']);
    });

    it('is for admins only, refuses a taken address, and names the invitee after the address by default', async () => {
      const user = await createUser(t);
      expect(errorOf(await t.http.post('/users/invite').set(bearer(user.accessToken)).send({ email: 'x@example.com' }))).toEqual({ status: 403, code: 'FORBIDDEN' });
      expect(errorOf(await t.http.post('/users/invite').send({ email: 'x@example.com' }))).toEqual({ status: 401, code: 'TOKEN_MISSING' });
      expect(errorOf(await t.http.post('/users/invite').set(bearer(admin)).send({ email: user.email }))).toEqual({ status: 409, code: 'EMAIL_TAKEN' });
      const invited = await t.http.post('/users/invite').set(bearer(admin)).send({ email: `plain.${Date.now()}@example.com`, role: 'admin' }).expect(201);
      expect(invited.body).toMatchObject({ first_name: invited.body.email.split('@')[0], last_name: '', role: 'admin' });
    });
  });
});

describe('GET /verify-email with VERIFICATION_REDIRECT_URL', () => {
  const smtp = new SmtpSink();
  let t: TestApp;

  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({ env: mailEnv(smtp, { VERIFICATION_REDIRECT_URL: 'https://app.example.com/verified?from=mail' }) });
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  it('redirects there on success, and with ?error=<code> when the link cannot be used', async () => {
    const user = await createUser(t, {}, { verified: false });
    const link = linkIn(await smtp.waitFor(user.email));
    const ok = await t.http.get(pathOf(link)).expect(302);
    expect(ok.headers.location).toBe('https://app.example.com/verified?from=mail');
    const used = await t.http.get(pathOf(link)).expect(302);
    expect(used.headers.location).toBe('https://app.example.com/verified?from=mail&error=LINK_TOKEN_USED');
    expect((await t.http.get('/verify-email?token=junk').expect(302)).headers.location).toBe('https://app.example.com/verified?from=mail&error=LINK_TOKEN_INVALID');
  });
});

describe('the mail queue', () => {
  it('loses no mail while the SMTP server is down, and sends none twice once it is back', async () => {
    const smtp = await new SmtpSink().start();
    const t = await startTestApp({ env: mailEnv(smtp) });
    try {
      await smtp.stop();
      const bodies = Array.from({ length: 5 }, () => newUserBody());
      for (const body of bodies) await t.http.post('/users').send(body).expect(201);
      // The sender tried and failed: the mails wait, with their error, for the next attempt.
      await expectEventually(async () => {
        const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM mail_outbox WHERE attempts > 0 AND sent_at IS NULL AND last_error IS NOT NULL`);
        expect(rows[0].n).toBe(5);
      });

      await smtp.start();
      for (const body of bodies) await smtp.waitFor(body.email);
      await drained(t);
      for (const body of bodies) expect(smtp.to(body.email)).toHaveLength(1);
      const { rows } = await t.db.query(`SELECT count(*)::int AS n FROM mail_outbox WHERE sent_at IS NULL OR sealed_context IS NOT NULL`);
      expect(rows[0].n).toBe(0);
    } finally {
      await t.close();
      await smtp.stop();
    }
  });

  it('sends each mail once when two replicas share the queue', async () => {
    const smtp = await new SmtpSink().start();
    const database = await createTestDatabase();
    const replicas = [await startTestApp({ database: database.name, env: mailEnv(smtp) }), await startTestApp({ database: database.name, env: mailEnv(smtp) })];
    try {
      const bodies = Array.from({ length: 20 }, () => newUserBody());
      await Promise.all(bodies.map((body, i) => replicas[i % 2].http.post('/users').send(body).expect(201)));
      for (const body of bodies) await smtp.waitFor(body.email);
      await drained(replicas[0]);
      expect(smtp.mails.filter((mail) => bodies.some((body) => mail.to.includes(body.email)))).toHaveLength(20);
    } finally {
      for (const replica of replicas.reverse()) await replica.close();
      await database.drop();
      await smtp.stop();
    }
  });

  it('retries a refused mail with doubling delays up to 10 minutes, and drops it once its link expired', async () => {
    const smtp = await new SmtpSink().start();
    const t = await startTestApp({ env: mailEnv(smtp, { EMAIL_RETRY_DELAY: '1m' }) });
    try {
      await smtp.stop();
      const body = newUserBody();
      await t.http.post('/users').send(body).expect(201);
      const { rows } = await t.db.query<{ id: string }>(`SELECT id FROM mail_outbox WHERE recipient = $1`, [body.email]);
      const id = rows[0].id;
      /** After the attempt number `attempts`: the delay it set, as seen now (a moment after the attempt). */
      const delayAfter = async (attempts: number) => {
        let seconds = 0;
        await expectEventually(async () => {
          const { rows: [mail] } = await t.db.query(`SELECT attempts, extract(epoch FROM available_at - clock_timestamp())::float AS seconds FROM mail_outbox WHERE id = $1`, [id]);
          expect(mail.attempts).toBe(attempts);
          seconds = mail.seconds;
        });
        return seconds;
      };
      // Time is driven by the row: the next attempt is due now, and the sender is woken.
      const dueNow = async () => {
        await t.db.query(`UPDATE mail_outbox SET available_at = now() WHERE id = $1`, [id]);
        await t.db.query(`SELECT pg_notify($1, '')`, [MAIL_CHANNEL]);
      };

      for (const [attempt, minutes] of [[1, 1], [2, 2], [3, 4], [4, 8], [5, 10], [6, 10]]) {
        if (attempt > 1) await dueNow();
        const seconds = await delayAfter(attempt);
        // Seen a moment (well under a minute) after the attempt: the delay, in minutes rounded up.
        expect({ attempt, minutes: Math.ceil(seconds / 60) }).toEqual({ attempt, minutes });
      }

      await t.db.query(`UPDATE mail_outbox SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
      await dueNow();
      await expectEventually(async () => {
        const { rows: [mail] } = await t.db.query(`SELECT attempts, failed_at IS NOT NULL AS failed, sealed_context, last_error FROM mail_outbox WHERE id = $1`, [id]);
        expect(mail).toEqual({ attempts: 6, failed: true, sealed_context: null, last_error: 'the link expired before the mail could be sent' });
      });
    } finally {
      await t.close();
      await smtp.stop();
    }
  });

  it('keeps the link sealed while the mail waits, and wipes it once sent', async () => {
    const smtp = await new SmtpSink().start();
    const t = await startTestApp({ env: mailEnv(smtp) });
    try {
      await smtp.stop();
      const body = newUserBody();
      await t.http.post('/users').send(body).expect(201);
      const { rows } = await t.db.query<{ sealed: Buffer }>(`SELECT sealed_context AS sealed FROM mail_outbox WHERE recipient = $1`, [body.email]);
      const { rows: tokens } = await t.db.query<{ id: string }>(`SELECT lt.id FROM link_tokens lt JOIN users u ON u.id = lt.user_id WHERE u.email = $1`, [body.email]);
      expect(rows[0].sealed.toString('latin1')).not.toContain(tokens[0].id);
      expect(rows[0].sealed.toString('latin1')).not.toContain(body.email);

      await smtp.start();
      const mail = await smtp.waitFor(body.email);
      expect(tokenOf(linkIn(mail)).startsWith(tokens[0].id)).toBe(true);
      await expectEventually(async () => {
        const after = await t.db.query(`SELECT sealed_context FROM mail_outbox WHERE recipient = $1`, [body.email]);
        expect(after.rows[0].sealed_context).toBeNull();
      });
    } finally {
      await t.close();
      await smtp.stop();
    }
  });
});

describe('without an SMTP server (EMAIL_HOST empty, the development default)', () => {
  it('writes each mail to the log as one JSON line with its link, which works', async () => {
    const database = await createTestDatabase();
    const app = await startBuiltApp({
      ...databaseEnv(database.name),
      USERS_SECRET_KEY: 'log-mail-test-secret-key-0123456789abcdef',
      USERS_ADMIN_PASSWORD: ADMIN.password,
      USERS_ES_URL: '',
      EMAIL_HOST: '',
    });
    try {
      const body = newUserBody();
      const created = await fetch(`${app.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(created.status).toBe(201);
      let line: { mail?: { to: string; subject: string; link: string } } | undefined;
      await expectEventually(() => {
        line = app
          .output()
          .split('\n')
          .filter((text) => text.startsWith('{'))
          .map((text) => JSON.parse(text) as typeof line)
          .find((entry) => entry?.mail?.to === body.email);
        expect(line).toBeDefined();
      });
      expect(line?.mail).toEqual({ to: body.email, subject: 'Verify your e-mail address', link: expect.stringContaining('http://localhost:9002/verify-email?token=') });
      const link = new URL(line!.mail!.link);
      const verified = await fetch(`${app.url}${link.pathname}${link.search}`);
      expect(verified.status).toBe(200);
    } finally {
      await app.stop();
      await database.drop();
    }
  });
});
