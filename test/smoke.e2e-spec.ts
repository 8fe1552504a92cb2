import { TestApp, startTestApp } from './support/test-app';
import { bearer, createUser, loginAdmin } from './support/users';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('registers, logs in, reads the profile', async () => {
    const user = await createUser(t);
    const profile = await t.http.get('/users/profile').set(bearer(user.accessToken)).expect(200);
    expect(profile.body.email).toBe(user.email);
    const admin = await loginAdmin(t);
    const list = await t.http.get('/users?name=ada').set(bearer(admin)).expect(200);
    expect(list.body.total).toBe(1);
  });
});
