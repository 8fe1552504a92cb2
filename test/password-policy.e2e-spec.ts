/**
 * The password policy (#12) everywhere a password is set: self-registration, admin creation, a
 * password change, a reset and an invitation's acceptance. Common passwords and passwords built from
 * the account's e-mail address or username are refused with VALIDATION_FAILED saying why, on top of
 * USERS_PASS_REGEX (here: at least one digit), and nothing is written.
 */
import { Response } from 'supertest';
import { newOpaqueToken } from '../src/common/utils/opaque-token';
import { LinkPurpose } from '../src/mail/entities/link-token.entity';
import { TestApp, startTestApp } from './support/test-app';
import { PASSWORD, TestUser, bearer, createUser, loginAdmin, newUserBody } from './support/users';

const DIGIT_POLICY = '^(?=.*\\d).{8,}$';
const GOOD = `${PASSWORD}-7`;
const COMMON = 'the most common passwords';
const EMAIL_NAME = 'the part of the e-mail address before the @';
const USERNAME = 'the username';

/** The problems VALIDATION_FAILED gave for a field, one short key per rule. */
function refusals(response: Response, field: string): string[] {
  expect({ status: response.status, code: response.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  const details = response.body.details as { field: string; problem: string }[];
  expect(details.every((detail) => detail.field === field)).toBe(true);
  return details.map(({ problem }) => [COMMON, EMAIL_NAME, USERNAME, 'must match'].find((key) => problem.includes(key)) ?? problem);
}

describe('password policy', () => {
  let t: TestApp;
  let admin: string;
  let user: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ env: { USERS_PASS_REGEX: DIGIT_POLICY } });
    admin = await loginAdmin(t);
    user = await createUser(t, { email: `grace.hopper.${Date.now()}@example.com`, credentials: { username: `cobol_${Date.now()}`, secret: GOOD } });
  });
  afterAll(() => t?.close());

  const userCount = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0].n;
  const register = (secret: string, overrides: Record<string, unknown> = {}, token?: string) => {
    const body = newUserBody({ ...overrides });
    const request = t.http.post('/users');
    return (token ? request.set(bearer(token)) : request).send({ ...body, credentials: { username: (body.credentials as { username: string }).username, secret, ...(overrides.credentials as object) } });
  };

  describe('registration (self and by an admin)', () => {
    it.each([
      ['password1', [COMMON]],
      ['QWERTY123', [COMMON]], // case-insensitive
      ['iloveyou', ['must match', COMMON]], // and PASS_REGEX still applies
      ['12345678', [COMMON]],
    ])('refuses the common password %s, nothing written', async (secret, expected) => {
      const before = await userCount();
      expect(refusals(await register(secret), 'credentials.secret')).toEqual(expected);
      expect(refusals(await register(secret, {}, admin), 'credentials.secret')).toEqual(expected);
      expect(await userCount()).toBe(before);
    });

    it('refuses a password that is or contains the e-mail address before the @ or the username, in any case', async () => {
      const tag = Date.now().toString(36);
      expect(refusals(await register(`HEDY.${tag}1`, { email: `hedy.${tag}1@example.com` }), 'credentials.secret')).toEqual([EMAIL_NAME]);
      expect(refusals(await register(`My-HEDY.${tag}-2024`, { email: `hedy.${tag}@example.com` }), 'credentials.secret')).toEqual([EMAIL_NAME]);
      expect(refusals(await register(`x-Lamarr${tag}-9`, { credentials: { username: `lamarr${tag}` } }, admin), 'credentials.secret')).toEqual([USERNAME]);
      expect(refusals(await register(`ada_${tag}1`, { email: `ada_${tag}1@example.com`, credentials: { username: `ada_${tag}1` } }), 'credentials.secret')).toEqual([EMAIL_NAME, USERNAME]);
    });

    it('looks for names of four characters or more inside a password, and refuses shorter ones only as the whole password', async () => {
      const tag = Date.now().toString(36);
      await register(`bobsleigh-${tag}-1`, { email: `bob@${tag}.example.com` }).expect(201);
      expect(refusals(await register(`lena-${tag}-1`, { email: `lena@${tag}.example.com` }), 'credentials.secret')).toEqual([EMAIL_NAME]);
      expect(refusals(await register('jo', { email: `jo@${tag}.example.com` }), 'credentials.secret')).toEqual(['must match', EMAIL_NAME]);
    });

    it('accepts a password that breaks none of the rules', async () => {
      await register(`${GOOD}x`).expect(201);
    });
  });

  describe('a password change', () => {
    const change = (new_secret: string) => t.http.patch('/users/secret').set(bearer(user.accessToken)).send({ old_secret: GOOD, new_secret });

    it('refuses a common password and one built from the caller’s address or username; the old password stays', async () => {
      expect(refusals(await change('Password123'), 'new_secret')).toEqual([COMMON]);
      expect(refusals(await change(`2${user.email.split('@')[0].toUpperCase()}`), 'new_secret')).toEqual([EMAIL_NAME]);
      expect(refusals(await change(`${user.username}-2`), 'new_secret')).toEqual([USERNAME]);
      await t.http.post('/users/tokens/issue').send({ identity: user.email, secret: GOOD }).expect(201);
    });
  });

  describe.each<[string, LinkPurpose]>([
    ['a password reset', 'recovery'],
    ['an invitation’s acceptance', 'invite'],
  ])('%s', (_, purpose) => {
    /** A link token as the mail would carry it. */
    async function linkToken(): Promise<string> {
      const token = newOpaqueToken();
      await t.db.query(`INSERT INTO link_tokens (id, user_id, purpose, token_hash, email, expires_at) VALUES ($1, $2, $3, $4, $5, now() + interval '15 minutes')`, [
        token.id,
        user.id,
        purpose,
        token.hash,
        user.email,
      ]);
      return token.token;
    }
    const reset = (token: string, password: string) => t.http.put('/password/reset').send({ token, password, confirm_password: password });

    it('refuses a common password and one built from the account’s address or username; the link stays usable', async () => {
      const token = await linkToken();
      expect(refusals(await reset(token, 'baseball1'), 'password')).toEqual([COMMON]);
      expect(refusals(await reset(token, `${user.email.split('@')[0]}!1`), 'password')).toEqual([EMAIL_NAME]);
      expect(refusals(await reset(token, `1-${user.username}`), 'password')).toEqual([USERNAME]);
      expect(refusals(await reset(token, 'no-digits-here'), 'password')).toEqual(['must match']);
      await reset(token, GOOD).expect(201);
    });
  });
});
