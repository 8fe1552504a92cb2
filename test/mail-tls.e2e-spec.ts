/**
 * EMAIL_REQUIRE_TLS (#8 finding 9) against a real SMTP server on loopback that offers no STARTTLS, as
 * a server looks to us when a network attacker strips STARTTLS from its answer: with TLS required the
 * mail is not sent and waits in the queue with the reason; without, it goes out in clear.
 */
import { expectEventually } from './support/eventually';
import { SmtpSink } from './support/smtp-sink';
import { startTestApp } from './support/test-app';
import { newUserBody } from './support/users';

describe('EMAIL_REQUIRE_TLS against an SMTP server without STARTTLS (#8 finding 9)', () => {
  const smtp = new SmtpSink();
  beforeAll(() => smtp.start());
  afterAll(() => smtp.stop());

  /** Boots the service with this SMTP setting, registers a user (who is mailed a link), and hands both to `check`. */
  async function registerWith(env: Record<string, string>, check: (t: Awaited<ReturnType<typeof startTestApp>>, email: string) => Promise<void>) {
    const t = await startTestApp({ env: { EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(smtp.port), EMAIL_RETRY_DELAY: '1h', ...env } });
    try {
      const body = newUserBody();
      await t.http.post('/users').send(body).expect(201);
      await check(t, body.email);
    } finally {
      await t.close();
    }
  }

  /** Waits until the sender has tried the mail once and kept it queued, and checks what it says. */
  async function expectKeptQueued(t: Awaited<ReturnType<typeof startTestApp>>, email: string) {
    const outcome = async () => (await t.db.query('SELECT attempts, sent_at, failed_at, last_error FROM mail_outbox WHERE recipient = $1', [email])).rows;
    await expectEventually(async () => expect((await outcome())[0].attempts).toBeGreaterThan(0));
    expect(await outcome()).toEqual([{ attempts: 1, sent_at: null, failed_at: null, last_error: expect.stringMatching(/STARTTLS/) }]);
    expect(smtp.to(email)).toEqual([]);
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body.details.smtp).toMatchObject({ status: 'down', last_error: expect.stringMatching(/STARTTLS/) });
  }

  it('EMAIL_REQUIRE_TLS=true: the mail is not sent in clear; it stays queued with the reason', () => registerWith({ EMAIL_REQUIRE_TLS: 'true' }, expectKeptQueued));

  it('unset with an SMTP password: TLS is required all the same (the password never goes out in clear)', () =>
    registerWith({ EMAIL_USERNAME: 'mailer', EMAIL_PASSWORD: 'smtp-password' }, expectKeptQueued));

  it('EMAIL_REQUIRE_TLS=false: the mail goes out without TLS', () =>
    registerWith({ EMAIL_REQUIRE_TLS: 'false' }, async (t, email) => {
      const mail = await smtp.waitFor(email);
      expect(mail.subject).toBe('Verify your e-mail address');
      await expectEventually(async () => {
        const { rows } = await t.db.query('SELECT sent_at IS NOT NULL AS sent FROM mail_outbox WHERE recipient = $1', [email]);
        expect(rows).toEqual([{ sent: true }]);
      });
    }));
});
