/**
 * Revocation racing refresh rotation (#8 finding 2): "log out everywhere" and a password reset while
 * sessions keep refreshing. Every path takes the user row first (rotation FOR SHARE, revocations
 * FOR UPDATE), so a successor inserted by a concurrent rotation is either revoked with the rest or
 * never inserted, and no revocation deadlocks with a rotation.
 */
import { newOpaqueToken } from '../src/common/utils/opaque-token';
import { TestApp, startTestApp } from './support/test-app';
import { TestUser, bearer, createUser, login } from './support/users';
import { expectEventually } from './support/eventually';

const SESSIONS = 40;
/** A guard against a hang on a loaded machine (each round hashes passwords several times), not a timing assertion. */
const RACE_TIMEOUT_MS = 180_000;

/** Refreshes the session's latest token until told to stop or refused; the latest token it holds stays in `current`. */
class RefreshLoop {
  rotations = 0;
  refusedWith?: number;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    private readonly t: TestApp,
    public current: string,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const response = await this.t.http.post('/users/tokens/refresh').send({ refresh_token: this.current });
      if (response.status !== 201) {
        this.refusedWith = response.status;
        return;
      }
      this.current = response.body.refresh_token as string;
      this.rotations++;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** How many of the loops' latest tokens still refresh. */
async function surviving(t: TestApp, loops: RefreshLoop[]): Promise<number> {
  const statuses = await Promise.all(loops.map(async (loop) => (await t.http.post('/users/tokens/refresh').send({ refresh_token: loop.current })).status));
  return statuses.filter((status) => status === 201).length;
}

describe('revocation races with refresh rotation', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Enough connections for the loops to really run side by side in PostgreSQL.
    t = await startTestApp({ env: { USERS_DB_POOL_SIZE: '24' } });
  });
  afterAll(() => t.close());

  it(`log out everywhere while ${SESSIONS} sessions keep refreshing: afterwards no session refreshes`, async () => {
    const user = await createUser(t);
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => login(t, user.email, user.password)));
    const loops = sessions.map((session) => new RefreshLoop(t, session.refreshToken));
    // Logout lands in the middle of the rotations, not before them.
    await expectEventually(() => expect(loops.every((loop) => loop.rotations >= 2)).toBe(true));

    await t.http.post('/users/logout').set(bearer(user.accessToken)).expect(204);
    await Promise.all(loops.map((loop) => loop.stop()));

    expect(loops.filter((loop) => loop.refusedWith !== undefined && loop.refusedWith !== 401)).toEqual([]);
    expect(await surviving(t, loops)).toBe(0);
  }, RACE_TIMEOUT_MS);

  it('a password reset while two sessions keep refreshing answers 201 every time (no deadlock), and ends them', async () => {
    const rounds: { status: number; survivors: number }[] = [];
    for (let round = 0; round < 10; round++) {
      const user: TestUser = await createUser(t);
      const second = await login(t, user.email, user.password);
      const loops = [new RefreshLoop(t, user.refreshToken), new RefreshLoop(t, second.refreshToken)];
      await expectEventually(() => expect(loops.every((loop) => loop.rotations >= 2)).toBe(true));

      const status = (await t.http.put('/password/reset').send({ token: await recoveryToken(t, user), password: `new-password-${round}`, confirm_password: `new-password-${round}` })).status;
      await Promise.all(loops.map((loop) => loop.stop()));
      rounds.push({ status, survivors: await surviving(t, loops) });
    }
    expect(rounds).toEqual(Array.from({ length: 10 }, () => ({ status: 201, survivors: 0 })));
  }, RACE_TIMEOUT_MS);
});

/** A recovery link token for the user, as the reset mail would carry it. */
async function recoveryToken(t: TestApp, user: TestUser): Promise<string> {
  const token = newOpaqueToken();
  await t.db.query(
    `INSERT INTO link_tokens (id, user_id, purpose, token_hash, email, expires_at) VALUES ($1, $2, 'recovery', $3, $4, now() + interval '15 minutes')`,
    [token.id, user.id, token.hash, user.email],
  );
  return token.token;
}
