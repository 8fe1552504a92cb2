import { randomBytes } from 'node:crypto';
import { ADMIN, TestApp } from './test-app';

export const PASSWORD = 'correct-horse-battery';

export interface TestUser {
  id: string;
  email: string;
  username: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

let counter = 0;

/** A unique, valid registration body; `overrides` replace top-level fields. */
export function newUserBody(overrides: Record<string, unknown> = {}) {
  const tag = `${++counter}${randomBytes(3).toString('hex')}`;
  return {
    first_name: 'Ada',
    last_name: 'Lovelace',
    email: `ada.${tag}@example.com`,
    credentials: { username: `ada_${tag}`, secret: PASSWORD },
    ...overrides,
  };
}

export async function login(t: TestApp, identity: string, secret: string) {
  const response = await t.http.post('/users/tokens/issue').send({ identity, secret }).expect(201);
  return { accessToken: response.body.access_token as string, refreshToken: response.body.refresh_token as string };
}

export async function loginAdmin(t: TestApp): Promise<string> {
  return (await login(t, ADMIN.email, ADMIN.password)).accessToken;
}

/** Registers a user (verified unless told otherwise: the e-mail flow is tested on its own) and logs in. */
export async function createUser(t: TestApp, overrides: Record<string, unknown> = {}, { verified = true } = {}): Promise<TestUser> {
  const body = newUserBody(overrides);
  const created = await t.http.post('/users').send(body).expect(201);
  if (verified) await t.db.query('UPDATE users SET verified_at = now() WHERE id = $1', [created.body.id]);
  const tokens = await login(t, body.email, body.credentials.secret);
  return { id: created.body.id, email: body.email, username: body.credentials.username, password: body.credentials.secret, ...tokens };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
