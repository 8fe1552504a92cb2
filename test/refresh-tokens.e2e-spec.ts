/**
 * Refresh-token rotation and the session store (RefreshTokensRepository, TokensService.rotate) on the
 * app's own database: what a rotation writes, when a token is alive, what a reused, revoked or
 * expired token does to its session, and the revocations. Users are made in SQL and sessions started
 * by TokensService.issue (no password hashing): the focused specs of the `refresh-tokens` mutation
 * module (docs/mutation-testing.md). The HTTP contract is in test/auth.e2e-spec.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RefreshTokensRepository } from '../src/auth/refresh-tokens.repository';
import { TokenSubject, TokensService } from '../src/auth/tokens.service';
import { SYSTEM_AUDIT } from '../src/common/decorators/audit.decorator';
import { TestApp, startTestApp } from './support/test-app';
import { bearer } from './support/users';

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
const idOf = (token: string) => token.split('.')[0];
const DAY_SECONDS = 24 * 3600;

describe('refresh tokens', () => {
  let t: TestApp;
  let tokens: TokensService;
  let repository: RefreshTokensRepository;

  beforeAll(async () => {
    t = await startTestApp();
    tokens = t.app.get(TokensService);
    repository = t.app.get(RefreshTokensRepository);
  });
  afterAll(() => t.close());

  async function user(role: 'user' | 'admin' = 'user', verified = true): Promise<TokenSubject> {
    const email = `rt-${randomBytes(6).toString('hex')}@example.com`;
    const { rows } = await t.db.query<{ id: string }>(
      `INSERT INTO users (first_name, last_name, email, role, verified_at) VALUES ('Ada', 'Lovelace', $1, $2, CASE WHEN $3 THEN now() END) RETURNING id`,
      [email, role, verified],
    );
    return { id: rows[0].id, role, verified, email, metadata: {}, authProvider: null };
  }

  const login = (subject: TokenSubject, description = 'test-client/1.0') => tokens.issue(subject, description, { actorId: null, requestId: 'req-login' });
  const refresh = (token: string) => t.http.post('/users/tokens/refresh').set('X-Request-Id', `req-${randomBytes(4).toString('hex')}`).send({ refresh_token: token });
  const codeOf = (response: { body: { code?: string } }) => response.body.code;
  const tokenRow = async (token: string) =>
    (await t.db.query(`SELECT family_id, user_id, description, used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked, round(extract(epoch FROM expires_at - created_at))::int AS ttl FROM refresh_tokens WHERE id = $1`, [idOf(token)])).rows[0];
  const sessions = async (accessToken: string) => (await t.http.get('/users/tokens/refresh-tokens').set(bearer(accessToken)).expect(200)).body.refresh_tokens as { id: string; description: string; created_at: string; expires_at: string }[];

  it('a rotation spends the token and starts its successor in the same session, for the same user, role and verification, with a user.refresh_token event', async () => {
    for (const subject of [await user('admin', false), await user('user', true)]) {
      const head = await login(subject, 'rotating-client/2.0');
      const response = await refresh(head.refresh_token).expect(201);
      const next = response.body as { access_token: string; refresh_token: string; expires_in: number; access_type: string };
      expect(next).toMatchObject({ access_type: 'Bearer', expires_in: 900 });
      expect(claimsOf(next.access_token)).toMatchObject({ sub: subject.id, role: subject.role, verified: subject.verified, sid: idOf(head.refresh_token), type: 'access' });
      expect(await tokenRow(head.refresh_token)).toMatchObject({ used: true, revoked: false });
      expect(await tokenRow(next.refresh_token)).toEqual({ family_id: idOf(head.refresh_token), user_id: subject.id, description: 'rotating-client/2.0', used: false, revoked: false, ttl: DAY_SECONDS });
      const { rows } = await t.db.query(`SELECT actor_id, request_id, data FROM outbox_events WHERE user_id = $1 AND operation = 'user.refresh_token'`, [subject.id]);
      expect(rows).toEqual([{ actor_id: subject.id, request_id: response.headers['x-request-id'], data: { session_id: idOf(head.refresh_token) } }]);
      // The successor rotates in turn, in the same session.
      const third = await refresh(next.refresh_token).expect(201);
      expect(claimsOf(third.body.access_token).sid).toBe(idOf(head.refresh_token));
    }
  });

  it('a spent token presented again is REFRESH_TOKEN_REUSED and ends its session (also the successor); again after that, REFRESH_TOKEN_INVALID', async () => {
    const subject = await user();
    const other = await login(subject);
    const head = await login(subject);
    const successor = (await refresh(head.refresh_token).expect(201)).body.refresh_token as string;
    expect(codeOf(await refresh(head.refresh_token).expect(401))).toBe('REFRESH_TOKEN_REUSED');
    expect(await tokenRow(successor)).toMatchObject({ revoked: true });
    expect(codeOf(await refresh(successor).expect(401))).toBe('REFRESH_TOKEN_INVALID');
    // The session is already ended: nothing more to revoke.
    expect(codeOf(await refresh(head.refresh_token).expect(401))).toBe('REFRESH_TOKEN_INVALID');
    // The user's other session lives on.
    await refresh(other.refresh_token).expect(201);
  });

  it('a token that is not alive is REFRESH_TOKEN_INVALID and ends nothing: wrong secret, unknown, expired, revoked, of a disabled user, or issued before the user’s last revocation', async () => {
    const subject = await user();
    const live = await login(subject);
    const [id] = live.refresh_token.split('.');
    for (const token of [`${id}.${randomBytes(32).toString('base64url')}`, `${randomUUID()}.${randomBytes(32).toString('base64url')}`, 'garbage']) {
      expect(codeOf(await refresh(token).expect(401))).toBe('REFRESH_TOKEN_INVALID');
    }
    expect(await tokenRow(live.refresh_token)).toMatchObject({ used: false, revoked: false });

    const expired = await login(subject);
    await t.db.query(`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [idOf(expired.refresh_token)]);
    const revoked = await login(subject);
    await t.db.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE id = $1`, [idOf(revoked.refresh_token)]);
    for (const token of [expired.refresh_token, revoked.refresh_token]) {
      expect(codeOf(await refresh(token).expect(401))).toBe('REFRESH_TOKEN_INVALID');
      expect(await tokenRow(token)).toMatchObject({ used: false });
    }
    // An expired token was not revoked by being presented: it is simply not alive.
    expect(await tokenRow(expired.refresh_token)).toMatchObject({ revoked: false });

    await t.db.query(`UPDATE users SET status = 'disabled' WHERE id = $1`, [subject.id]);
    expect(codeOf(await refresh(live.refresh_token).expect(401))).toBe('REFRESH_TOKEN_INVALID');
    await t.db.query(`UPDATE users SET status = 'enabled', tokens_revoked_at = clock_timestamp() WHERE id = $1`, [subject.id]);
    expect(codeOf(await refresh(live.refresh_token).expect(401))).toBe('REFRESH_TOKEN_INVALID');
    expect(await tokenRow(live.refresh_token)).toMatchObject({ used: false, revoked: false });
    // A session started after the revocation works.
    await refresh((await login(subject)).refresh_token).expect(201);
  });

  it('issuing for a user who is not enabled (any more) is ACCOUNT_DISABLED and stores nothing', async () => {
    const subject = await user();
    await t.db.query(`UPDATE users SET status = 'deleted', deleted_at = now() WHERE id = $1`, [subject.id]);
    await expect(login(subject)).rejects.toMatchObject({ code: 'ACCOUNT_DISABLED' });
    const { rows } = await t.db.query(`SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1`, [subject.id]);
    expect(rows[0].n).toBe(0);
  });

  it('lists the live sessions, one per login, newest first, dated from the login; not the ended ones', async () => {
    const subject = await user();
    const first = await login(subject, 'first/1.0');
    const second = await login(subject, 'second/2.0');
    const ended = await login(subject, 'ended/3.0');
    const expiring = await login(subject, 'expired/4.0');
    const rotated = (await refresh(first.refresh_token).expect(201)).body as { access_token: string; refresh_token: string };
    await t.db.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE id = $1`, [idOf(ended.refresh_token)]);
    await t.db.query(`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [idOf(expiring.refresh_token)]);
    const { rows } = await t.db.query<{ id: string; created_at: Date }>(`SELECT id, created_at FROM refresh_tokens WHERE id = ANY($1)`, [[idOf(first.refresh_token), idOf(second.refresh_token)]]);
    const createdAt = new Map(rows.map((row) => [row.id, row.created_at.toISOString()]));

    const listed = await sessions(rotated.access_token);
    expect(listed.map((s) => [s.id, s.description, s.created_at])).toEqual([
      [idOf(second.refresh_token), 'second/2.0', createdAt.get(idOf(second.refresh_token))],
      [idOf(first.refresh_token), 'first/1.0', createdAt.get(idOf(first.refresh_token))],
    ]);
    // The rotated session shows its live token's expiry.
    const { rows: [successor] } = await t.db.query<{ expires_at: Date }>(`SELECT expires_at FROM refresh_tokens WHERE id = $1`, [idOf(rotated.refresh_token)]);
    expect(listed[1].expires_at).toBe(successor.expires_at.toISOString());
    await t.db.query(`UPDATE users SET tokens_revoked_at = clock_timestamp() WHERE id = $1`, [subject.id]);
    const { rows: [{ n }] } = await t.db.query(`SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1`, [subject.id]);
    expect(n).toBe(5);
    expect(await repository.listSessions(subject.id)).toEqual([]);
  });

  it('revokes one live session of the user (by session id, also after rotations); not another user’s, not an ended one', async () => {
    const subject = await user();
    const stranger = await user();
    const kept = await login(subject);
    const target = await login(subject);
    const rotated = (await refresh(target.refresh_token).expect(201)).body.refresh_token as string;
    const theirs = await login(stranger);
    const family = idOf(target.refresh_token);
    const revoke = (userId: string, familyId: string) => t.app.get(DataSource).transaction((manager) => repository.revokeFamily(manager, userId, familyId));

    expect(await revoke(subject.id, idOf(theirs.refresh_token))).toBe(false);
    expect(await revoke(subject.id, randomUUID())).toBe(false);
    expect(await revoke(subject.id, family)).toBe(true);
    expect(await revoke(subject.id, family)).toBe(false);
    expect(codeOf(await refresh(rotated).expect(401))).toBe('REFRESH_TOKEN_INVALID');
    await refresh(kept.refresh_token).expect(201);
    await refresh(theirs.refresh_token).expect(201);
  });

  it('revokes all of the user’s sessions, or all but one', async () => {
    const subject = await user();
    const stranger = await user();
    const [one, two, three] = [await login(subject), await login(subject), await login(subject)];
    const theirs = await login(stranger);
    const revokeAll = (keep?: string) => t.app.get(DataSource).transaction((manager) => repository.revokeAll(subject.id, keep, manager));

    await revokeAll(idOf(two.refresh_token));
    expect(await tokenRow(one.refresh_token)).toMatchObject({ revoked: true });
    expect(await tokenRow(three.refresh_token)).toMatchObject({ revoked: true });
    const next = (await refresh(two.refresh_token).expect(201)).body.refresh_token as string;
    await revokeAll();
    expect(await tokenRow(next)).toMatchObject({ revoked: true });
    expect(await tokenRow(theirs.refresh_token)).toMatchObject({ revoked: false });
  });

  it('ending a session by its refresh token (sign-out) revokes its family with one user.revoke_token event; an unknown or ended one ends nothing', async () => {
    const subject = await user();
    const kept = await login(subject);
    const head = await login(subject);
    const current = (await refresh(head.refresh_token).expect(201)).body.refresh_token as string;
    const revokeEvents = async () => (await t.db.query(`SELECT actor_id, request_id, data FROM outbox_events WHERE user_id = $1 AND operation = 'user.revoke_token'`, [subject.id])).rows;

    await tokens.endSession('garbage', SYSTEM_AUDIT);
    await tokens.endSession(`${randomUUID()}.${randomBytes(32).toString('base64url')}`, SYSTEM_AUDIT);
    await tokens.endSession(current, { actorId: null, requestId: 'req-signout' });
    expect(await tokenRow(current)).toMatchObject({ revoked: true });
    expect(await revokeEvents()).toEqual([{ actor_id: subject.id, request_id: 'req-signout', data: { session_id: idOf(head.refresh_token) } }]);
    await tokens.endSession(current, SYSTEM_AUDIT);
    expect(await revokeEvents()).toHaveLength(1);
    await refresh(kept.refresh_token).expect(201);
  });

  it('one token spent by two requests at once: one gets the pair, the other REFRESH_TOKEN_REUSED, and the session ends', async () => {
    const subject = await user();
    const head = await login(subject);
    const responses = await Promise.all([refresh(head.refresh_token), refresh(head.refresh_token)]);
    expect(responses.map((r) => r.status).sort()).toEqual([201, 401]);
    expect(codeOf(responses.find((r) => r.status === 401)!)).toBe('REFRESH_TOKEN_REUSED');
    const successor = responses.find((r) => r.status === 201)!.body.refresh_token as string;
    expect(await tokenRow(successor)).toMatchObject({ revoked: true });
  });
});
