/**
 * LinkTokensService on the app's own database: issuing replaces the user's unused tokens of that
 * purpose (only those), consuming spends a token once and says precisely why it cannot, check()
 * locks nothing, and consume takes the user row before the token row, so that a revocation holding
 * the user (a password reset) never deadlocks with it. The focused specs of the `link-tokens`
 * mutation module (docs/mutation-testing.md); the mail flows are in test/mail.e2e-spec.ts.
 */
import { Client } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { LinkPurpose } from '../src/mail/entities/link-token.entity';
import { LinkTokensService } from '../src/mail/link-tokens.service';
import { expectEventually } from './support/eventually';
import { PG } from './support/postgres';
import { TestApp, startTestApp } from './support/test-app';
import { TestUser, createUser } from './support/users';

const HOUR = 3600_000;

describe('link tokens', () => {
  let t: TestApp;
  let links: LinkTokensService;
  let user: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    links = t.app.get(LinkTokensService);
  });
  beforeEach(async () => {
    user = await createUser(t);
  });
  afterAll(() => t.close());

  const inTransaction = <T>(work: (manager: EntityManager) => Promise<T>) => t.app.get(DataSource).transaction(work);
  const issue = (purpose: LinkPurpose, ttlMs = HOUR, email = user.email) => inTransaction((manager) => links.issue(manager, { userId: user.id, purpose, email, ttlMs }));
  const consume = (token: string, purposes: LinkPurpose[]) => inTransaction((manager) => links.consume(manager, token, purposes));
  const check = (token: string, purposes: LinkPurpose[]) => inTransaction((manager) => links.check(manager, token, purposes));
  const row = async (token: string) =>
    (await t.db.query(`SELECT user_id, purpose, email, used_at IS NOT NULL AS used, expires_at FROM link_tokens WHERE id = $1`, [token.split('.')[0]])).rows[0];

  it('issues a token of the shape <id>.<secret>, stored with its user, purpose, address and expiry', async () => {
    const before = Date.now();
    const issued = await issue('recovery', 2 * HOUR, 'other@example.com');
    expect(issued.token).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    const stored = await row(issued.token);
    expect(stored).toEqual({ user_id: user.id, purpose: 'recovery', email: 'other@example.com', used: false, expires_at: issued.expiresAt });
    // now() + ttl, by the database's clock (the same machine's: within the test's own run).
    expect(issued.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 2 * HOUR - 1000);
    expect(issued.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 2 * HOUR + 1000);
  });

  it('a new token replaces the unused tokens of its purpose, and no others', async () => {
    const first = await issue('recovery');
    const verification = await issue('verification');
    const spent = await issue('invite');
    await consume(spent.token, ['invite']);
    const second = await issue('recovery');
    await issue('invite');

    expect(await row(first.token)).toBeUndefined();
    await expect(consume(first.token, ['recovery'])).rejects.toMatchObject({ code: 'LINK_TOKEN_INVALID' });
    expect(await row(verification.token)).toMatchObject({ used: false });
    // A spent token stays (as the record of its use) and stays spent.
    expect(await row(spent.token)).toMatchObject({ used: true });
    await expect(consume(spent.token, ['invite'])).rejects.toMatchObject({ code: 'LINK_TOKEN_USED' });
    await expect(consume(second.token, ['recovery'])).resolves.toMatchObject({ userId: user.id, purpose: 'recovery' });
    await expect(consume(verification.token, ['verification'])).resolves.toMatchObject({ purpose: 'verification' });
  });

  it('consume spends a token once, for one of the purposes given, and returns it', async () => {
    const issued = await issue('verification');
    const spent = await consume(issued.token, ['recovery', 'verification']);
    expect(spent).toMatchObject({ id: issued.token.split('.')[0], userId: user.id, purpose: 'verification', email: user.email, usedAt: null });
    expect(await row(issued.token)).toMatchObject({ used: true });
    await expect(consume(issued.token, ['verification'])).rejects.toMatchObject({ code: 'LINK_TOKEN_USED' });
  });

  it('refuses a token of another purpose (naming its purpose), malformed, tampered, unknown or expired, each with its code, spending nothing', async () => {
    const recovery = await issue('recovery');
    await expect(consume(recovery.token, ['verification', 'invite'])).rejects.toMatchObject({ code: 'LINK_TOKEN_WRONG_TYPE', message: 'this is a recovery token' });
    const [id, secret] = recovery.token.split('.');
    const tampered = `${id}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    for (const token of ['', 'junk', `${id}.short`, tampered, `00000000-0000-4000-8000-000000000000.${secret}`]) {
      await expect(consume(token, ['recovery'])).rejects.toMatchObject({ code: 'LINK_TOKEN_INVALID' });
      await expect(check(token, ['recovery'])).rejects.toMatchObject({ code: 'LINK_TOKEN_INVALID' });
    }
    expect(await row(recovery.token)).toMatchObject({ used: false });

    const expired = await issue('verification');
    await t.db.query(`UPDATE link_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.token.split('.')[0]]);
    await expect(consume(expired.token, ['verification'])).rejects.toMatchObject({ code: 'LINK_TOKEN_EXPIRED' });
    expect(await row(expired.token)).toMatchObject({ used: false });
    await expect(consume(recovery.token, ['recovery'])).resolves.toMatchObject({ purpose: 'recovery' });
  });

  it('check says what consume would, and spends and locks nothing', async () => {
    const issued = await issue('recovery');
    await expect(check(issued.token, ['verification'])).rejects.toMatchObject({ code: 'LINK_TOKEN_WRONG_TYPE' });
    // Checked while another transaction holds the user and the token: it answers at once.
    const other = new Client({ ...PG, database: t.database });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [user.id]);
      await other.query('SELECT 1 FROM link_tokens WHERE id = $1 FOR UPDATE', [issued.token.split('.')[0]]);
      await expect(check(issued.token, ['recovery'])).resolves.toMatchObject({ userId: user.id, purpose: 'recovery', usedAt: null });
      await other.query('ROLLBACK');
    } finally {
      await other.end();
    }
    expect(await row(issued.token)).toMatchObject({ used: false });
    await consume(issued.token, ['recovery']);
    await expect(check(issued.token, ['recovery'])).rejects.toMatchObject({ code: 'LINK_TOKEN_USED' });
    const expired = await issue('invite');
    await t.db.query(`UPDATE link_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.token.split('.')[0]]);
    await expect(check(expired.token, ['invite'])).rejects.toMatchObject({ code: 'LINK_TOKEN_EXPIRED' });
  });

  it('revoke deletes the unused tokens of the purposes given', async () => {
    const recovery = await issue('recovery');
    const verification = await issue('verification');
    const invite = await issue('invite');
    await inTransaction((manager) => links.revoke(manager, user.id, ['recovery', 'verification']));
    expect(await row(recovery.token)).toBeUndefined();
    expect(await row(verification.token)).toBeUndefined();
    expect(await row(invite.token)).toMatchObject({ used: false });
  });

  it('two requests with one link: one spends it, the other is told it was used', async () => {
    const issued = await issue('recovery');
    const outcomes = await Promise.allSettled([consume(issued.token, ['recovery']), consume(issued.token, ['recovery'])]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.find((outcome) => outcome.status === 'rejected')).toMatchObject({ reason: { code: 'LINK_TOKEN_USED' } });
  });

  it('takes the user row before the token row: a revocation holding the user (a password reset) goes through, no deadlock', async () => {
    const issued = await issue('recovery');
    const reset = new Client({ ...PG, database: t.database });
    await reset.connect();
    try {
      await reset.query('BEGIN');
      const { rows: [{ pid }] } = await reset.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await reset.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [user.id]);
      const consuming = consume(issued.token, ['recovery']);
      consuming.catch(() => undefined);
      // The consume waits for the user row that the reset holds…
      await expectEventually(async () => {
        const { rows } = await t.db.query(`SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]);
        expect(rows).toHaveLength(1);
      });
      // …holding no token row meanwhile: the reset's revocation of the user's links does not wait for it.
      await reset.query(`DELETE FROM link_tokens WHERE user_id = $1 AND used_at IS NULL`, [user.id]);
      await reset.query('COMMIT');
      await expect(consuming).rejects.toMatchObject({ code: 'LINK_TOKEN_INVALID' });
    } finally {
      await reset.end();
    }
  });
});
