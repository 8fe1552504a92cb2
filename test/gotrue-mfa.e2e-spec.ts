/**
 * GoTrue's MFA API (#16) driven by the unmodified @supabase/auth-js client: mfa.enroll, challenge,
 * verify, challengeAndVerify, listFactors, unenroll and getAuthenticatorAssuranceLevel, as Supabase's
 * model has it: a password sign-in is an aal1 session that the client steps up to aal2. TOTP codes are
 * computed here from the enrolled secret (otpauth). Against the running app on PostgreSQL.
 */
import { newClient } from './support/gotrue-client';
import { freePort } from './support/built-app';
import { TestApp, startTestApp } from './support/test-app';
import { Authenticator, claimsOf } from './support/totp';
import { PASSWORD, bearer } from './support/users';

let counter = 0;
const newEmail = () => `mfa.${Date.now().toString(36)}${++counter}@example.com`;

describe('GoTrue MFA with @supabase/auth-js', () => {
  let t: TestApp;
  let api: string;

  beforeAll(async () => {
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    // Addresses confirmed at sign-up (MAILER_AUTOCONFIRM): signUp answers a session.
    t = await startTestApp({ port, env: { USERS_PUBLIC_URL: api, USERS_ALLOW_UNVERIFIED_USER: 'true' } });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  /** A signed-up user whose TOTP factor is enrolled and verified through the client; the client holds the aal2 session. */
  async function enrolledUser() {
    const client = newClient(api).client;
    const email = newEmail();
    expect((await client.signUp({ email, password: PASSWORD })).error).toBeNull();
    const enrolled = await client.mfa.enroll({ factorType: 'totp', friendlyName: 'Phone' });
    expect(enrolled.error).toBeNull();
    const factor = enrolled.data!;
    const app = new Authenticator(factor.totp.secret);
    const { error } = await client.mfa.challengeAndVerify({ factorId: factor.id, code: await app.code() });
    expect(error).toBeNull();
    return { client, email, factorId: factor.id, app };
  }

  it('enroll, challenge and verify: the factor is verified and the session steps up from aal1 to aal2', async () => {
    const client = newClient(api).client;
    const email = newEmail();
    const signUp = await client.signUp({ email, password: PASSWORD });
    expect(signUp.error).toBeNull();
    expect(await client.mfa.getAuthenticatorAssuranceLevel()).toEqual({ data: { currentLevel: 'aal1', nextLevel: 'aal1', currentAuthenticationMethods: [{ method: 'password', timestamp: expect.any(Number) }] }, error: null });

    const enrolled = await client.mfa.enroll({ factorType: 'totp', friendlyName: 'Phone', issuer: 'Example' });
    expect(enrolled.error).toBeNull();
    const factor = enrolled.data!;
    expect(factor).toMatchObject({ id: expect.any(String), type: 'totp', friendly_name: 'Phone', totp: { secret: expect.stringMatching(/^[A-Z2-7]+$/), uri: expect.stringMatching(/^otpauth:\/\/totp\/Example:/) } });
    expect(factor.totp.qr_code.startsWith('data:image/svg+xml;utf-8,<svg')).toBe(true);
    let listed = await client.mfa.listFactors();
    expect(listed.data).toMatchObject({ all: [{ id: factor.id, status: 'unverified', factor_type: 'totp', friendly_name: 'Phone' }], totp: [] });

    const app = new Authenticator(factor.totp.secret);
    const challenge = await client.mfa.challenge({ factorId: factor.id });
    expect(challenge.error).toBeNull();
    expect(challenge.data).toEqual({ id: expect.any(String), type: 'totp', expires_at: expect.any(Number) });
    const wrong = await client.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: app.wrong() });
    expect(wrong.error).toMatchObject({ status: 422, code: 'mfa_verification_failed' });
    const verified = await client.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: await app.code() });
    expect(verified.error).toBeNull();
    expect(claimsOf(verified.data!.access_token)).toMatchObject({ aal: 'aal2', amr: [{ method: 'password' }, { method: 'totp' }] });

    const { data: session } = await client.getSession();
    expect(session.session?.access_token).toBe(verified.data!.access_token);
    const aal = await client.mfa.getAuthenticatorAssuranceLevel();
    expect(aal.data).toMatchObject({ currentLevel: 'aal2', nextLevel: 'aal2', currentAuthenticationMethods: [{ method: 'password' }, { method: 'totp' }] });
    listed = await client.mfa.listFactors();
    expect(listed.data?.totp).toEqual([expect.objectContaining({ id: factor.id, status: 'verified', factor_type: 'totp' })]);
    // The same user over the native API: mfa on.
    const profile = await t.http.get('/users/profile').set(bearer(verified.data!.access_token)).expect(200);
    expect(profile.body.mfa).toBe(true);
  });

  it('a password sign-in of a user with a factor is aal1 with aal2 next; challengeAndVerify steps it up, and a refresh keeps aal2', async () => {
    const { email, factorId, app } = await enrolledUser();
    const client = newClient(api).client;
    const signIn = await client.signInWithPassword({ email, password: PASSWORD });
    expect(signIn.error).toBeNull();
    expect(signIn.data.user?.factors).toEqual([expect.objectContaining({ id: factorId, status: 'verified' })]);
    expect((await client.mfa.getAuthenticatorAssuranceLevel()).data).toMatchObject({ currentLevel: 'aal1', nextLevel: 'aal2' });

    const stepped = await client.mfa.challengeAndVerify({ factorId, code: await app.code() });
    expect(stepped.error).toBeNull();
    expect((await client.mfa.getAuthenticatorAssuranceLevel()).data).toMatchObject({ currentLevel: 'aal2', nextLevel: 'aal2' });

    const refreshed = await client.refreshSession();
    expect(refreshed.error).toBeNull();
    expect(claimsOf(refreshed.data.session!.access_token)).toMatchObject({ aal: 'aal2', amr: [{ method: 'password' }, { method: 'totp' }] });
    // The aal1 session the step-up replaced is over.
    expect((await client.mfa.getAuthenticatorAssuranceLevel(signIn.data.session!.access_token)).error).not.toBeNull();
    expect((await t.http.get('/users/profile').set(bearer(signIn.data.session!.access_token)).expect(401)).body.code).toBe('TOKEN_REVOKED');
  });

  it('unenroll and a new password need aal2: refused from an aal1 session (insufficient_aal), allowed after the step-up', async () => {
    const { email, factorId, app } = await enrolledUser();
    const client = newClient(api).client;
    expect((await client.signInWithPassword({ email, password: PASSWORD })).error).toBeNull();

    expect((await client.mfa.unenroll({ factorId })).error).toMatchObject({ status: 403, code: 'insufficient_aal' });
    expect((await client.updateUser({ password: `${PASSWORD}-2` })).error).toMatchObject({ status: 403, code: 'insufficient_aal' });
    expect((await client.mfa.enroll({ factorType: 'totp', friendlyName: 'Second' })).error).toMatchObject({ status: 403, code: 'insufficient_aal' });

    expect((await client.mfa.challengeAndVerify({ factorId, code: await app.code() })).error).toBeNull();
    // (An aal1 session is refused before its body is read; an aal2 one learns that phone factors are not offered.)
    expect((await client.mfa.enroll({ factorType: 'phone', phone: '+15555550100' } as never)).error).toMatchObject({ status: 422, code: 'mfa_factor_type_not_supported' });
    const unenrolled = await client.mfa.unenroll({ factorId });
    expect(unenrolled).toEqual({ data: { id: factorId }, error: null });
    const listed = await client.mfa.listFactors();
    expect(listed.data).toMatchObject({ all: [], totp: [] });
    expect((await client.mfa.getAuthenticatorAssuranceLevel()).data).toMatchObject({ currentLevel: 'aal2', nextLevel: 'aal2' });
    // Without a factor, a sign-in is complete at aal1 again.
    const again = newClient(api).client;
    expect((await again.signInWithPassword({ email, password: PASSWORD })).error).toBeNull();
    expect((await again.mfa.getAuthenticatorAssuranceLevel()).data).toMatchObject({ currentLevel: 'aal1', nextLevel: 'aal1' });
  });

  it('an aal1 session (signInWithPassword) is read-only: updateUser fails with insufficient_aal until challenge and verify step it up', async () => {
    const { email, factorId, app } = await enrolledUser();
    const client = newClient(api).client;
    const signIn = await client.signInWithPassword({ email, password: PASSWORD });
    expect(signIn.error).toBeNull();
    const aal1 = signIn.data.session!.access_token;

    const refused = await client.updateUser({ data: { plan: 'stolen' } });
    expect(refused.error).toMatchObject({ status: 403, code: 'insufficient_aal' });
    // Reading works, and so do the routes of the step-up.
    const user = await client.getUser();
    expect(user.error).toBeNull();
    expect(user.data.user?.user_metadata).not.toHaveProperty('plan');
    const listed = await client.mfa.listFactors();
    expect(listed.data?.totp).toEqual([expect.objectContaining({ id: factorId, status: 'verified' })]);
    // The native API says the same of the same token.
    const native = await t.http.get('/users/profile').set(bearer(aal1)).expect(200);
    expect((await t.http.patch(`/users/${native.body.id}`).set(bearer(aal1)).send({ first_name: 'Mallory' }).expect(403)).body.code).toBe('AAL2_REQUIRED');

    const challenge = await client.mfa.challenge({ factorId });
    expect(challenge.error).toBeNull();
    const verified = await client.mfa.verify({ factorId, challengeId: challenge.data!.id, code: await app.code() });
    expect(verified.error).toBeNull();
    const updated = await client.updateUser({ data: { plan: 'pro' } });
    expect(updated.error).toBeNull();
    expect(updated.data.user?.user_metadata).toMatchObject({ plan: 'pro' });

    // Signing out is one of the routes an aal1 session may use.
    const other = newClient(api).client;
    expect((await other.signInWithPassword({ email, password: PASSWORD })).error).toBeNull();
    expect((await other.signOut({ scope: 'local' })).error).toBeNull();
  });

  it('a challenge belongs to its factor and session: another session\'s challenge, or an unknown factor, is refused', async () => {
    const { email, factorId, app } = await enrolledUser();
    const a = newClient(api).client;
    const b = newClient(api).client;
    expect((await a.signInWithPassword({ email, password: PASSWORD })).error).toBeNull();
    expect((await b.signInWithPassword({ email, password: PASSWORD })).error).toBeNull();
    const challenge = await a.mfa.challenge({ factorId });
    const stolen = await b.mfa.verify({ factorId, challengeId: challenge.data!.id, code: await app.code() });
    expect(stolen.error).toMatchObject({ status: 400, code: 'mfa_challenge_expired' });
    const unknown = await a.mfa.challenge({ factorId: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.error).toMatchObject({ status: 404, code: 'mfa_factor_not_found' });
  });
});
