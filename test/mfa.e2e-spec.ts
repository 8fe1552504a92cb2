/**
 * Multi-factor sign-in (#16) on the native API, against the running app on PostgreSQL (and the
 * machine's NATS for users.verify_token): TOTP factors enrolled, activated and used with codes
 * computed here from the enrolled secret (otpauth), replays refused, attempts limited per factor,
 * recovery codes, the login challenge, aal/amr claims kept by refresh, aal2 for sensitive operations,
 * and the admin's view and removal of factors. Every event recorded is checked against asyncapi.yaml.
 */
import { JSONCodec, NatsConnection, connect } from 'nats';
import { MACHINE_NATS, deleteStream, expectOutboxRowsMatchAsyncApi, isolatedStream } from './support/nats';
import { TestApp, startTestApp } from './support/test-app';
import { expectEventually } from './support/eventually';
import { Authenticator, claimsOf } from './support/totp';
import { PASSWORD, TestUser, bearer, createUser, loginAdmin, newUserBody } from './support/users';

describe('MFA: TOTP factors, recovery codes and assurance levels (native API)', () => {
  const { env, api, stream } = isolatedStream();
  const json = JSONCodec<Record<string, unknown>>();
  let t: TestApp;
  let nc: NatsConnection;
  let admin: string;

  beforeAll(async () => {
    nc = await connect({ servers: MACHINE_NATS });
    t = await startTestApp({
      env: {
        ...env(MACHINE_NATS),
        // The limits on, with room for the tests' own logins; three attempts per factor.
        USERS_RATE_LIMIT_ENABLED: 'true',
        USERS_RATE_LIMIT_TOKEN: '1000/5m',
        USERS_RATE_LIMIT_SIGNUP: '1000/5m',
        USERS_LOGIN_LOCKOUT: '1000/15m',
        USERS_MFA_VERIFY_RATE: '3/5m',
        USERS_MFA_TOTP_ISSUER: 'Example',
      },
    });
    admin = await loginAdmin(t);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await deleteStream(nc, stream);
    await nc?.close();
  });

  /** A user with an enrolled factor, not yet verified. */
  async function enrolled(user?: TestUser) {
    const owner = user ?? (await createUser(t));
    const response = await t.http.post('/users/mfa/factors').set(bearer(owner.accessToken)).send({ friendly_name: 'Phone' }).expect(201);
    return { user: owner, factorId: response.body.factor.id as string, app: new Authenticator(response.body.totp.secret), enrolment: response.body };
  }

  /** A user whose factor is verified: their aal2 session (from the activation) and recovery codes. */
  async function withMfa() {
    const { user, factorId, app } = await enrolled();
    const activation = await t.http.post('/users/tokens/step-up').set(bearer(user.accessToken)).send({ factor_id: factorId, code: await app.code() }).expect(201);
    return { user, factorId, app, aal2: activation.body.access_token as string, refresh: activation.body.refresh_token as string, recoveryCodes: activation.body.recovery_codes as string[] };
  }

  /** A password login's MFA challenge token. */
  async function challenge(user: TestUser): Promise<string> {
    const response = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: PASSWORD }).expect(201);
    expect(response.body).toMatchObject({ mfa_required: true, mfa_token: expect.any(String) });
    return response.body.mfa_token;
  }

  /** An aal1 session of a user with MFA: GoTrue's password grant (Supabase's model: the client steps up later). */
  async function aal1Session(user: TestUser): Promise<string> {
    const response = await t.http.post('/auth/v1/token?grant_type=password').send({ email: user.email, password: PASSWORD }).expect(200);
    expect(claimsOf(response.body.access_token).aal).toBe('aal1');
    return response.body.access_token;
  }

  it('enrols a TOTP factor: secret, otpauth:// URI and an SVG QR code; unverified, so logins stay one-step', async () => {
    const { user, factorId, enrolment } = await enrolled();
    expect(enrolment.factor).toEqual({ id: factorId, factor_type: 'totp', friendly_name: 'Phone', status: 'unverified', created_at: expect.any(String), updated_at: expect.any(String), verified_at: null, last_used_at: null });
    expect(enrolment.totp.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(enrolment.totp.uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(Object.fromEntries(uri.searchParams)).toEqual({ issuer: 'Example', secret: enrolment.totp.secret, algorithm: 'SHA1', digits: '6', period: '30' });
    expect(enrolment.totp.qr_code).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>\s*$/);

    // The secret is sealed at rest: not in the row in clear.
    const { rows } = await t.db.query(`SELECT secret FROM mfa_factors WHERE id = $1`, [factorId]);
    expect((rows[0].secret as Buffer).toString('latin1')).not.toContain(enrolment.totp.secret);

    const login = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: PASSWORD }).expect(201);
    expect(login.body.access_token).toEqual(expect.any(String));
    expect(claimsOf(login.body.access_token)).toMatchObject({ aal: 'aal1', amr: [{ method: 'password', timestamp: expect.any(Number) }] });
    expect((await t.http.get('/users/profile').set(bearer(user.accessToken)).expect(200)).body.mfa).toBe(false);

    // A second name clash, rename, and a bad factor id.
    await t.http.post('/users/mfa/factors').set(bearer(user.accessToken)).send({ friendly_name: 'phone' }).expect(409);
    const renamed = await t.http.patch(`/users/mfa/factors/${factorId}`).set(bearer(user.accessToken)).send({ friendly_name: 'Old phone' }).expect(200);
    expect(renamed.body.friendly_name).toBe('Old phone');
    expect((await t.http.patch('/users/mfa/factors/nope').set(bearer(user.accessToken)).send({ friendly_name: 'x' }).expect(400)).body.code).toBe('INVALID_ID');
  });

  it('activates a factor with its first code: an aal2 session, ten recovery codes once, mfa on; a wrong code and a replay are refused', async () => {
    const { user, factorId, app } = await enrolled();
    const wrong = await t.http.post('/users/tokens/step-up').set(bearer(user.accessToken)).send({ factor_id: factorId, code: app.wrong() }).expect(422);
    expect(wrong.body.code).toBe('MFA_CODE_INVALID');

    const code = await app.code();
    const activation = await t.http.post('/users/tokens/step-up').set(bearer(user.accessToken)).send({ factor_id: factorId, code }).expect(201);
    expect(activation.body.recovery_codes).toHaveLength(10);
    expect(new Set(activation.body.recovery_codes).size).toBe(10);
    const claims = claimsOf(activation.body.access_token);
    expect(claims).toMatchObject({ aal: 'aal2', amr: [{ method: 'password' }, { method: 'totp' }] });
    // The step-up replaced the aal1 session.
    await t.http.get('/users/profile').set(bearer(user.accessToken)).expect(401);

    const profile = await t.http.get('/users/profile').set(bearer(activation.body.access_token)).expect(200);
    expect(profile.body.mfa).toBe(true);
    const listed = await t.http.get('/users/mfa/factors').set(bearer(activation.body.access_token)).expect(200);
    expect(listed.body.factors).toEqual([expect.objectContaining({ id: factorId, status: 'verified', verified_at: expect.any(String) })]);

    // The same code again: refused, even within its window.
    const replay = await t.http.post('/users/tokens/step-up').set(bearer(activation.body.access_token)).send({ factor_id: factorId, code }).expect(422);
    expect(replay.body).toMatchObject({ code: 'MFA_CODE_INVALID', message: expect.stringContaining('already used') });
    // A later step-up answers no recovery codes (they were shown once).
    const again = await t.http.post('/users/tokens/step-up').set(bearer(activation.body.access_token)).send({ code: await app.code() }).expect(201);
    expect(again.body.recovery_codes).toBeUndefined();

    const hashes = await t.db.query(`SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1`, [user.id]);
    expect(hashes.rows).toHaveLength(10);
    expect(hashes.rows.map((row) => (row.code_hash as Buffer).length)).toEqual(Array(10).fill(32));
  });

  it('a password login answers an MFA challenge; its code completes it with an aal2 session whose refresh keeps aal2 and amr', async () => {
    const { user, factorId, app, aal2 } = await withMfa();
    const login = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: PASSWORD }).expect(201);
    expect(login.body).toEqual({ mfa_required: true, mfa_token: expect.any(String), expires_in: 300, factors: [{ id: factorId, factor_type: 'totp', friendly_name: 'Phone' }] });
    expect(login.body.access_token).toBeUndefined();

    expect((await t.http.post('/users/tokens/mfa').send({ mfa_token: 'forged', code: '123456' }).expect(401)).body.code).toBe('MFA_CHALLENGE_INVALID');
    expect((await t.http.post('/users/tokens/mfa').send({ mfa_token: login.body.mfa_token, code: '12345x' }).expect(422)).body.code).toBe('MFA_CODE_INVALID');

    // An enrolment not yet verified does not answer a login's challenge.
    const pending = await t.http.post('/users/mfa/factors').set(bearer(aal2)).send({ friendly_name: 'Pending' }).expect(201);
    const pendingApp = new Authenticator(pending.body.totp.secret);
    expect((await t.http.post('/users/tokens/mfa').send({ mfa_token: login.body.mfa_token, factor_id: pending.body.factor.id, code: await pendingApp.code() }).expect(404)).body.code).toBe('MFA_FACTOR_NOT_FOUND');

    const completed = await t.http.post('/users/tokens/mfa').send({ mfa_token: login.body.mfa_token, code: await app.code() }).expect(201);
    const claims = claimsOf(completed.body.access_token);
    expect(claims).toMatchObject({ aal: 'aal2', amr: [{ method: 'password' }, { method: 'totp' }] });

    const refreshed = await t.http.post('/users/tokens/refresh').send({ refresh_token: completed.body.refresh_token }).expect(201);
    expect(claimsOf(refreshed.body.access_token)).toMatchObject({ aal: 'aal2', amr: claims.amr, sid: claims.sid });

    // users.verify_token over NATS reports the session's aal.
    const reply = json.decode((await nc.request(api('verify_token'), json.encode({ token: refreshed.body.access_token }), { timeout: 5000 })).data);
    expect(reply).toMatchObject({ user_id: user.id, session_id: claims.sid, aal: 'aal2' });
    const aal1 = json.decode((await nc.request(api('verify_token'), json.encode({ token: await aal1Session(user) }), { timeout: 5000 })).data);
    expect(aal1).toMatchObject({ user_id: user.id, aal: 'aal1' });
  });

  it('recovery codes: each signs in once (audited), a spent one is refused; regenerating needs aal2 and replaces them', async () => {
    const { user, recoveryCodes, aal2 } = await withMfa();
    const completed = await t.http.post('/users/tokens/mfa').send({ mfa_token: await challenge(user), recovery_code: recoveryCodes[0].toUpperCase() }).expect(201);
    expect(claimsOf(completed.body.access_token)).toMatchObject({ aal: 'aal2', amr: [{ method: 'password' }, { method: 'recovery' }] });
    const reused = await t.http.post('/users/tokens/mfa').send({ mfa_token: await challenge(user), recovery_code: recoveryCodes[0] }).expect(422);
    expect(reused.body.code).toBe('MFA_CODE_INVALID');
    const { rows } = await t.db.query(`SELECT operation, data FROM outbox_events WHERE user_id = $1 AND operation LIKE 'user.mfa%' ORDER BY seq`, [user.id]);
    expect(rows.filter((row) => row.operation === 'user.mfa_recovery_code_used').map((row) => row.data)).toEqual([{ remaining: 9 }]);
    expect(rows.filter((row) => row.operation === 'user.mfa_challenge_failed').map((row) => row.data)).toEqual([{ factor_id: null, method: 'recovery', reason: 'invalid_code' }]);

    const refused = await t.http.post('/users/mfa/recovery-codes').set(bearer(await aal1Session(user))).expect(403);
    expect(refused.body.code).toBe('AAL2_REQUIRED');
    const fresh = await t.http.post('/users/mfa/recovery-codes').set(bearer(aal2)).expect(201);
    expect(fresh.body.recovery_codes).toHaveLength(10);
    await t.http.post('/users/tokens/mfa').send({ mfa_token: await challenge(user), recovery_code: recoveryCodes[1] }).expect(422);
    await t.http.post('/users/tokens/mfa').send({ mfa_token: await challenge(user), recovery_code: fresh.body.recovery_codes[1] }).expect(201);
  });

  it('verification attempts are limited per factor: after three, even the right code is refused (429) until the window ends', async () => {
    const { user, factorId, app } = await withMfa();
    const other = await withMfa();
    const token = await challenge(user);
    for (let i = 0; i < 3; i++) await t.http.post('/users/tokens/mfa').send({ mfa_token: token, factor_id: factorId, code: app.wrong() }).expect(422);
    const limited = await t.http.post('/users/tokens/mfa').send({ mfa_token: token, factor_id: factorId, code: await app.code() }).expect(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another user's factor is not affected.
    await t.http.post('/users/tokens/mfa').send({ mfa_token: await challenge(other.user), code: await other.app.code() }).expect(201);
  });

  it('sensitive operations need aal2 within USERS_MFA_REAUTH_WINDOW: password and e-mail change, removing a verified factor', async () => {
    const { user, factorId, aal2 } = await withMfa();
    const aal1 = await aal1Session(user);
    expect((await t.http.patch('/users/secret').set(bearer(aal1)).send({ old_secret: PASSWORD, new_secret: PASSWORD }).expect(403)).body.code).toBe('AAL2_REQUIRED');
    expect((await t.http.patch(`/users/${user.id}/email`).set(bearer(aal1)).send({ email: `new.${user.email}`, password: PASSWORD }).expect(403)).body.code).toBe('AAL2_REQUIRED');
    expect((await t.http.delete(`/users/mfa/factors/${factorId}`).set(bearer(aal1)).expect(403)).body.code).toBe('AAL2_REQUIRED');
    expect((await t.http.post('/users/mfa/factors').set(bearer(aal1)).send({ friendly_name: 'Second' }).expect(403)).body.code).toBe('AAL2_REQUIRED');
    // Ordinary changes need aal2 too, of any age (see the next test); reading does not.
    await t.http.patch(`/users/${user.id}`).set(bearer(aal2)).send({ first_name: 'Grace' }).expect(200);

    await t.http.patch(`/users/${user.id}/email`).set(bearer(aal2)).send({ email: `new.${user.email}` }).expect(200);
    await t.db.query('UPDATE users SET verified_at = now() WHERE id = $1', [user.id]); // (the new address is unverified until its link is followed)
    await t.http.delete(`/users/mfa/factors/${factorId}`).set(bearer(aal2)).expect(204);
    const profile = await t.http.get('/users/profile').set(bearer(aal2)).expect(200);
    expect(profile.body.mfa).toBe(false);
    const codes = await t.db.query(`SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1`, [user.id]);
    expect(codes.rows[0].n).toBe(0);
    // Without a factor, a password login is one step again.
    const login = await t.http.post('/users/tokens/issue').send({ identity: `new.${user.email}`, secret: PASSWORD }).expect(201);
    expect(login.body.access_token).toEqual(expect.any(String));
  });

  it('an aal1 session of a user with a factor is read-only until stepped up: 403 AAL2_REQUIRED on any change', async () => {
    const { user, factorId, app } = await withMfa();
    const other = await createUser(t);
    const aal1 = await aal1Session(user);
    // Reading their own resources works.
    expect((await t.http.get('/users/profile').set(bearer(aal1)).expect(200)).body).toMatchObject({ id: user.id, mfa: true });
    await t.http.get(`/users/${user.id}`).set(bearer(aal1)).expect(200);
    await t.http.get('/users/mfa/factors').set(bearer(aal1)).expect(200);
    await t.http.get('/users/tokens/refresh-tokens').set(bearer(aal1)).expect(200);
    // A stolen password alone changes nothing, and reads no one else's account.
    const refusals = [
      t.http.patch(`/users/${user.id}`).set(bearer(aal1)).send({ first_name: 'Mallory' }),
      t.http.patch(`/users/${user.id}`).set(bearer(aal1)).send({ metadata: { owned: true } }),
      t.http.patch(`/users/${user.id}/username`).set(bearer(aal1)).send({ username: `mallory${Date.now()}` }),
      t.http.patch(`/users/${user.id}/tags`).set(bearer(aal1)).send({ tags: ['x'] }),
      t.http.patch(`/users/mfa/factors/${factorId}`).set(bearer(aal1)).send({ friendly_name: 'Mine now' }),
      t.http.delete(`/users/${user.id}`).set(bearer(aal1)),
      t.http.get(`/users/${other.id}`).set(bearer(aal1)),
    ];
    for (const refused of await Promise.all(refusals)) expect([refused.status, refused.body.code]).toEqual([403, 'AAL2_REQUIRED']);
    const profile = await t.http.get('/users/profile').set(bearer(aal1)).expect(200);
    expect(profile.body).toMatchObject({ status: 'enabled', metadata: {} });
    expect(profile.body.first_name).not.toBe('Mallory');

    // Stepping up is allowed, and the aal2 session it answers changes the profile.
    const stepped = await t.http.post('/users/tokens/step-up').set(bearer(aal1)).send({ factor_id: factorId, code: await app.code() }).expect(201);
    expect(claimsOf(stepped.body.access_token).aal).toBe('aal2');
    await t.http.patch(`/users/${user.id}`).set(bearer(stepped.body.access_token)).send({ first_name: 'Grace' }).expect(200);
    await t.http.get(`/users/${other.id}`).set(bearer(stepped.body.access_token)).expect(200);

    // Ending a session is allowed too: revoking one, and logging out everywhere.
    const another = await aal1Session(user);
    const sessions = await t.http.get('/users/tokens/refresh-tokens').set(bearer(another)).expect(200);
    const anotherSid = claimsOf(another).sid;
    expect(sessions.body.refresh_tokens).toEqual(expect.arrayContaining([expect.objectContaining({ id: anotherSid })]));
    await t.http.post('/users/tokens/revoke').set(bearer(another)).send({ token_id: anotherSid }).expect(204);
    await t.http.get('/users/profile').set(bearer(another)).expect(401);
    await t.http.post('/users/logout').set(bearer(await aal1Session(user))).expect(204);
    await t.http.get('/users/profile').set(bearer(stepped.body.access_token)).expect(401);
  });

  it('a session from before the first factor was verified is aal1, so read-only once it is', async () => {
    const { user, factorId, app } = await enrolled();
    // A second session of the same user, started before the factor is activated.
    const older = (await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: PASSWORD }).expect(201)).body.access_token as string;
    await t.http.patch(`/users/${user.id}`).set(bearer(older)).send({ first_name: 'Before' }).expect(200);
    await t.http.post('/users/tokens/step-up').set(bearer(user.accessToken)).send({ factor_id: factorId, code: await app.code() }).expect(201);
    expect((await t.http.patch(`/users/${user.id}`).set(bearer(older)).send({ first_name: 'After' }).expect(403)).body.code).toBe('AAL2_REQUIRED');
    await t.http.get('/users/profile').set(bearer(older)).expect(200);
  });

  it('admins list and remove a user\'s factors (audited), see `mfa` in the user view and filter the listing by it', async () => {
    const { user, factorId } = await withMfa();
    const plain = await createUser(t);
    const listed = await t.http.get(`/users/${user.id}/mfa/factors`).set(bearer(admin)).expect(200);
    expect(listed.body.factors).toEqual([expect.objectContaining({ id: factorId, status: 'verified' })]);
    await t.http.get(`/users/${user.id}/mfa/factors`).set(bearer(plain.accessToken)).expect(403);
    expect((await t.http.get('/users/00000000-0000-4000-8000-000000000000/mfa/factors').set(bearer(admin)).expect(404)).body.code).toBe('USER_NOT_FOUND');
    expect((await t.http.get(`/users/${user.id}`).set(bearer(admin)).expect(200)).body.mfa).toBe(true);

    const withMfaIds = (await t.http.get('/users?mfa=true&limit=100').set(bearer(admin)).expect(200)).body.users.map((u: { id: string }) => u.id);
    expect(withMfaIds).toContain(user.id);
    expect(withMfaIds).not.toContain(plain.id);
    const withoutIds = (await t.http.get('/users?mfa=false&limit=100').set(bearer(admin)).expect(200)).body.users.map((u: { id: string }) => u.id);
    expect(withoutIds).toContain(plain.id);
    expect(withoutIds).not.toContain(user.id);
    await t.http.get('/users?mfa=maybe').set(bearer(admin)).expect(400);

    await t.http.delete(`/users/${user.id}/mfa/factors/${factorId}`).set(bearer(admin)).expect(204);
    await t.http.delete(`/users/${user.id}/mfa/factors/${factorId}`).set(bearer(admin)).expect(404);
    expect((await t.http.get(`/users/${user.id}`).set(bearer(admin)).expect(200)).body.mfa).toBe(false);
    const adminId = (await t.http.get('/users/profile').set(bearer(admin)).expect(200)).body.id;
    const { rows } = await t.db.query(`SELECT actor_id, data FROM outbox_events WHERE user_id = $1 AND operation = 'user.mfa_remove'`, [user.id]);
    expect(rows).toEqual([{ actor_id: adminId, data: { factor_id: factorId, factor_type: 'totp', friendly_name: 'Phone', status: 'verified', mfa: false } }]);
  });

  it('an admin with a factor needs aal2 on admin routes', async () => {
    const second = await withMfa();
    await t.http.patch(`/users/${second.user.id}/role`).set(bearer(admin)).send({ role: 'admin' }).expect(200);
    const aal1 = await aal1Session(second.user);
    expect((await t.http.get('/users').set(bearer(aal1)).expect(403)).body.code).toBe('AAL2_REQUIRED');
    const aal2 = (await t.http.post('/users/tokens/mfa').send({ mfa_token: await challenge(second.user), code: await second.app.code() }).expect(201)).body.access_token;
    await t.http.get('/users').set(bearer(aal2)).expect(200);
    // Changing another user's account is an admin action too (an aal1 session changes nothing anyway).
    const other = await createUser(t);
    expect((await t.http.patch(`/users/${other.id}`).set(bearer(aal1)).send({ first_name: 'Grace' }).expect(403)).body.code).toBe('AAL2_REQUIRED');
    await t.http.patch(`/users/${second.user.id}`).set(bearer(aal2)).send({ first_name: 'Grace' }).expect(200);
    await t.http.patch(`/users/${other.id}`).set(bearer(aal2)).send({ first_name: 'Grace' }).expect(200);
    // Creating a user with an admin's token (POST /users, @OptionalAuth(): it may set role) is an admin action as well.
    const newcomer = newUserBody({ role: 'admin' });
    expect((await t.http.post('/users').set(bearer(aal1)).send(newcomer).expect(403)).body.code).toBe('AAL2_REQUIRED');
    await t.http.post('/users').set(bearer(aal2)).send(newcomer).expect(201);
    // The bootstrap admin, without a factor, is not affected (USERS_MFA_REQUIRED_FOR_ADMINS is off).
    await t.http.get('/users').set(bearer(admin)).expect(200);
  });

  it('records every factor change as an event that asyncapi.yaml describes', async () => {
    const { user, factorId, aal2 } = await withMfa();
    await t.http.patch(`/users/mfa/factors/${factorId}`).set(bearer(aal2)).send({ friendly_name: 'Renamed' }).expect(200);
    await t.http.post('/users/tokens/step-up').set(bearer(aal2)).send({ code: '00000a' }).expect(422);
    await t.http.delete(`/users/mfa/factors/${factorId}`).set(bearer(aal2)).expect(204);
    const { rows } = await t.db.query(`SELECT * FROM outbox_events WHERE user_id = $1 ORDER BY seq`, [user.id]);
    expect(rows.map((row) => row.operation).filter((op: string) => op.startsWith('user.mfa'))).toEqual([
      'user.mfa_enroll',
      'user.mfa_activate',
      'user.mfa_recovery_codes_regenerate',
      'user.mfa_rename',
      'user.mfa_challenge_failed',
      'user.mfa_remove',
    ]);
    expectOutboxRowsMatchAsyncApi(rows);
  });
});

describe('MFA settings: USERS_MFA_REQUIRED_FOR_ADMINS, USERS_MFA_REAUTH_WINDOW, USERS_MFA_CHALLENGE_DURATION', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { USERS_MFA_REQUIRED_FOR_ADMINS: 'true', USERS_MFA_REAUTH_WINDOW: '3s', USERS_MFA_CHALLENGE_DURATION: '1s' } });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  async function activate(accessToken: string) {
    const enrolment = await t.http.post('/users/mfa/factors').set(bearer(accessToken)).send({}).expect(201);
    const app = new Authenticator(enrolment.body.totp.secret);
    const activation = await t.http.post('/users/tokens/step-up').set(bearer(accessToken)).send({ factor_id: enrolment.body.factor.id, code: await app.code() }).expect(201);
    return { app, aal2: activation.body.access_token as string };
  }

  it('an admin without a factor is refused on admin routes until they enrol one', async () => {
    const admin = await loginAdmin(t);
    expect((await t.http.get('/users').set(bearer(admin)).expect(403)).body.code).toBe('MFA_ENROLLMENT_REQUIRED');
    // Their own account and the enrolment are no admin routes.
    await t.http.get('/users/profile').set(bearer(admin)).expect(200);
    const { aal2 } = await activate(admin);
    await t.http.get('/users').set(bearer(aal2)).expect(200);
  });

  it('a second factor counts for sensitive operations within the window only; a login challenge expires', async () => {
    const user = await createUser(t);
    const { app, aal2 } = await activate(user.accessToken);
    await t.http.post('/users/mfa/recovery-codes').set(bearer(aal2)).expect(201);
    // The same aal2 session, once the window has passed (waiting on the answer, not a fixed time).
    await expectEventually(async () => expect((await t.http.post('/users/mfa/recovery-codes').set(bearer(aal2)).expect(403)).body.code).toBe('AAL2_REQUIRED'));

    const login = await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: PASSWORD }).expect(201);
    await expectEventually(async () => expect((await t.http.post('/users/tokens/mfa').send({ mfa_token: login.body.mfa_token, code: app.wrong() })).body.code).toBe('MFA_CHALLENGE_INVALID'));
  });
});
