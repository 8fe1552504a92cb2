/**
 * Changing one's own e-mail address needs a recent sign-in or the current password (#8 finding 3): a
 * leaked access token alone must not move the account to another mailbox. The old address gets a
 * notice through the mail queue (a real SMTP sink). SuperMQ's SDK, which sends only `{email}` right
 * after logging in, keeps working; an admin changes another user's address without either.
 */
import { SmtpSink } from './support/smtp-sink';
import { TestApp, startTestApp } from './support/test-app';
import { PASSWORD, TestUser, bearer, createUser, loginAdmin } from './support/users';

describe('PATCH /users/{id}/email: reauthentication and the notice to the old address (#8 finding 3)', () => {
  const smtp = new SmtpSink();
  let t: TestApp;

  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp({
      env: { EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(smtp.port), EMAIL_CHANGE_REPORT_URL: 'https://support.example.com/report', EMAIL_SITE_NAME: 'Example Cloud' },
    });
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  /** Moves the user's sign-ins and last revocation 11 minutes back together, so their order (which the guard checks) holds (USERS_REAUTH_WINDOW is 10m). */
  const signedInLongAgo = async (userId: string) => {
    await t.db.query(`UPDATE refresh_tokens SET created_at = created_at - interval '11 minutes' WHERE user_id = $1`, [userId]);
    await t.db.query(`UPDATE users SET tokens_revoked_at = tokens_revoked_at - interval '11 minutes' WHERE id = $1`, [userId]);
  };
  /** The notice of an e-mail change to `address` (its registration's verification mail came first). */
  const noticeTo = (address: string) => smtp.waitFor(address, 2);
  const newAddress = (user: TestUser) => user.email.replace('@', '.new@');
  const changeEmail = (user: TestUser, body: Record<string, unknown>, token = user.accessToken) => t.http.patch(`/users/${user.id}/email`).set(bearer(token)).send(body);

  it('right after signing in, {email} alone is enough (as SuperMQ’s SDK sends it); the old address is told, with where to report it', async () => {
    const user = await createUser(t);
    const email = newAddress(user);
    const changed = await changeEmail(user, { email }).expect(200);
    expect(changed.body).toMatchObject({ email, verified_at: null });

    const notice = await noticeTo(user.email);
    expect(notice.subject).toBe('Your e-mail address was changed');
    expect(notice.html).toContain(`changed from ${user.email} to ${email}`);
    expect(notice.html).toContain('href="https://support.example.com/report"');
    expect((await smtp.waitFor(email)).subject).toBe('Verify your e-mail address');
  });

  it('with a session signed in longer ago than USERS_REAUTH_WINDOW: 401 REAUTHENTICATION_REQUIRED, unless the current password is given', async () => {
    const user = await createUser(t);
    await signedInLongAgo(user.id);
    const email = newAddress(user);

    const stale = await changeEmail(user, { email });
    expect({ status: stale.status, code: stale.body.code }).toEqual({ status: 401, code: 'REAUTHENTICATION_REQUIRED' });
    const wrong = await changeEmail(user, { email, password: 'not-the-password' });
    expect({ status: wrong.status, code: wrong.body.code }).toEqual({ status: 401, code: 'REAUTHENTICATION_REQUIRED' });
    expect((await t.db.query('SELECT email FROM users WHERE id = $1', [user.id])).rows).toEqual([{ email: user.email }]);
    // The refusals queued nothing: the old address has only its registration's verification mail (read from
    // the queue, which the request writes in its transaction, not from the sink, which the sender fills later).
    expect((await t.db.query('SELECT kind FROM mail_outbox WHERE recipient = $1', [user.email])).rows).toEqual([{ kind: 'verification' }]);

    await changeEmail(user, { email, password: PASSWORD }).expect(200);
    expect((await noticeTo(user.email)).subject).toBe('Your e-mail address was changed');
  });

  it('an admin changes another user’s address without reauthenticating; changing their own needs it like anyone', async () => {
    const user = await createUser(t);
    const admin = await loginAdmin(t);
    const { rows: [{ id: adminId }] } = await t.db.query(`SELECT id FROM users WHERE email = 'admin@example.com'`);
    await signedInLongAgo(adminId);
    const email = newAddress(user);
    await t.http.patch(`/users/${user.id}/email`).set(bearer(admin)).send({ email }).expect(200);
    expect((await noticeTo(user.email)).subject).toBe('Your e-mail address was changed');

    const own = await t.http.patch(`/users/${adminId}/email`).set(bearer(admin)).send({ email: 'root@example.com' });
    expect({ status: own.status, code: own.body.code }).toEqual({ status: 401, code: 'REAUTHENTICATION_REQUIRED' });
  });
});
