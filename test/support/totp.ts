import { Secret, TOTP } from 'otpauth';

const PERIOD = 30;
const currentStep = () => Math.floor(Date.now() / 1000 / PERIOD);

/**
 * An authenticator app for one TOTP factor (#16), computing codes from the enrolled secret: each code
 * is of a time step later than the last one given (the service takes a step once), at most the step
 * after the current one (its window); when none is left it waits for the clock to reach the next step.
 */
export class Authenticator {
  private readonly totp: TOTP;
  private lastStep = 0;

  constructor(secret: string) {
    this.totp = new TOTP({ secret: Secret.fromBase32(secret), period: PERIOD, digits: 6, algorithm: 'SHA1' });
  }

  async code(): Promise<string> {
    const step = Math.max(this.lastStep + 1, currentStep());
    while (step > currentStep() + 1) await new Promise((resolve) => setTimeout(resolve, 250)); // the clock, not a fixed sleep
    this.lastStep = step;
    return this.totp.generate({ timestamp: step * PERIOD * 1000 });
  }

  /** A code no step of the window has. */
  wrong(): string {
    const valid = [-1, 0, 1].map((offset) => this.totp.generate({ timestamp: (currentStep() + offset) * PERIOD * 1000 }));
    return ['000000', '111111', '222222', '333333'].find((code) => !valid.includes(code)) as string;
  }
}

/** The claims of an access token (not verified: the test reads what the service wrote). */
export function claimsOf(accessToken: string): Record<string, unknown> & { aal?: string; amr?: { method: string; timestamp: number }[]; sid: string } {
  return JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString());
}
