import { AppError } from '../common/errors/app-error';
import { User } from '../users/entities/user.entity';
import { GuardedRequest, MfaPolicy } from './mfa-policy.service';

const WINDOW_MS = 10 * 60_000;
const policy = (requiredForAdmins = false) =>
  new MfaPolicy({ totpIssuer: 'Users', reauthWindowMs: WINDOW_MS, requiredForAdmins, challengeTtlMs: 300_000, verifyRate: { count: 5, windowMs: 300_000 }, webauthn: { rpId: 'localhost', rpName: 'Users', origins: ['http://localhost'] } });
const user = (mfaEnabled: boolean, role: User['role'] = 'user') => Object.assign(new User(), { id: 'u', role, mfaEnabled });
const secondsAgo = (seconds: number) => Math.floor(Date.now() / 1000) - seconds;
const codeOf = (run: () => void) => {
  try {
    run();
    return 'allowed';
  } catch (error) {
    return (error as AppError).code;
  }
};

describe('MfaPolicy', () => {
  it('asks nothing more of a user without a verified factor', () => {
    expect(codeOf(() => policy().assertRecentSecondFactor(user(false), { aal: 'aal1', amr: [] }))).toBe('allowed');
  });

  it('needs aal2 whose second factor is within USERS_MFA_REAUTH_WINDOW from a user with a factor', () => {
    const p = policy();
    const mfa = user(true);
    expect(codeOf(() => p.assertRecentSecondFactor(mfa, { aal: 'aal1', amr: [{ method: 'password', timestamp: secondsAgo(1) }] }))).toBe('AAL2_REQUIRED');
    expect(codeOf(() => p.assertRecentSecondFactor(mfa, { aal: 'aal2', amr: [{ method: 'password', timestamp: secondsAgo(1) }, { method: 'totp', timestamp: secondsAgo(5) }] }))).toBe('allowed');
    expect(codeOf(() => p.assertRecentSecondFactor(mfa, { aal: 'aal2', amr: [{ method: 'recovery', timestamp: secondsAgo(599) }] }))).toBe('allowed');
    // aal2, but the second factor is older than the window (a long-refreshed session).
    expect(codeOf(() => p.assertRecentSecondFactor(mfa, { aal: 'aal2', amr: [{ method: 'password', timestamp: secondsAgo(1) }, { method: 'totp', timestamp: secondsAgo(601) }] }))).toBe('AAL2_REQUIRED');
    // A passkey with user verification is both factors: a recent passkey sign-in or step-up counts.
    expect(codeOf(() => p.assertRecentSecondFactor(mfa, { aal: 'aal2', amr: [{ method: 'webauthn', timestamp: secondsAgo(5) }] }))).toBe('allowed');
    expect(codeOf(() => p.assertRecentSecondFactor(mfa, { aal: 'aal2', amr: [{ method: 'webauthn', timestamp: secondsAgo(601) }] }))).toBe('AAL2_REQUIRED');
    // aal2 claimed without a second-factor method: not enough.
    expect(codeOf(() => p.assertRecentSecondFactor(mfa, { aal: 'aal2', amr: [{ method: 'password', timestamp: secondsAgo(1) }] }))).toBe('AAL2_REQUIRED');
  });

  it('USERS_MFA_REQUIRED_FOR_ADMINS refuses an admin without a factor on admin routes', () => {
    expect(codeOf(() => policy(true).assertAdminAssurance(user(false, 'admin'), { aal: 'aal1', amr: [] }))).toBe('MFA_ENROLLMENT_REQUIRED');
    expect(codeOf(() => policy(false).assertAdminAssurance(user(false, 'admin'), { aal: 'aal1', amr: [] }))).toBe('allowed');
    expect(codeOf(() => policy(true).assertAdminAssurance(user(true, 'admin'), { aal: 'aal1', amr: [] }))).toBe('AAL2_REQUIRED');
    expect(codeOf(() => policy(true).assertAdminAssurance(user(true, 'admin'), { aal: 'aal2', amr: [{ method: 'totp', timestamp: secondsAgo(1) }] }))).toBe('allowed');
  });

  describe('assertRequestAssurance: an aal1 session of a user with a factor is read-only', () => {
    const p = policy();
    const aal1 = { aal: 'aal1' as const, amr: [{ method: 'password', timestamp: secondsAgo(1) }] };
    const staleAal2 = { aal: 'aal2' as const, amr: [{ method: 'password', timestamp: secondsAgo(3600) }, { method: 'totp', timestamp: secondsAgo(3600) }] };
    const route = (method: string, extra: Partial<GuardedRequest> = {}): GuardedRequest => ({ method, admin: false, sensitive: false, allowAal1: false, ...extra });

    it('lets it read its own resources and use the @AllowAal1() routes, and refuses every other request', () => {
      expect(codeOf(() => p.assertRequestAssurance(user(true), aal1, route('GET')))).toBe('allowed');
      expect(codeOf(() => p.assertRequestAssurance(user(true), aal1, route('HEAD', { targetId: 'u' })))).toBe('allowed');
      expect(codeOf(() => p.assertRequestAssurance(user(true), aal1, route('POST', { allowAal1: true })))).toBe('allowed');
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(codeOf(() => p.assertRequestAssurance(user(true), aal1, route(method, { targetId: 'u' })))).toBe('AAL2_REQUIRED');
      // Another user's resource, even to read.
      expect(codeOf(() => p.assertRequestAssurance(user(true), aal1, route('GET', { targetId: 'other' })))).toBe('AAL2_REQUIRED');
      // A token from before #16 (no claims) counts as aal1.
      expect(codeOf(() => p.assertRequestAssurance(user(true), { aal: 'aal1', amr: [] }, route('PATCH')))).toBe('AAL2_REQUIRED');
    });

    it('asks nothing of a user without a factor, and only aal2 (however old) on ordinary routes', () => {
      expect(codeOf(() => p.assertRequestAssurance(user(false), aal1, route('PATCH', { targetId: 'u' })))).toBe('allowed');
      expect(codeOf(() => p.assertRequestAssurance(user(true), staleAal2, route('PATCH', { targetId: 'u' })))).toBe('allowed');
      // Sensitive and admin routes keep their recent-second-factor rule, @AllowAal1() or not.
      expect(codeOf(() => p.assertRequestAssurance(user(true), staleAal2, route('PATCH', { sensitive: true, allowAal1: true })))).toBe('AAL2_REQUIRED');
      expect(codeOf(() => p.assertRequestAssurance(user(true, 'admin'), aal1, route('GET', { admin: true })))).toBe('AAL2_REQUIRED');
      expect(codeOf(() => policy(true).assertRequestAssurance(user(false, 'admin'), aal1, route('GET', { admin: true })))).toBe('MFA_ENROLLMENT_REQUIRED');
    });
  });
});
