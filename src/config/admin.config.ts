import { registerAs } from '@nestjs/config';
import { IsEmail, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { runMode } from './run-mode';
import { validateConfig } from './validate-config';

/** The development admin password of the committed `.env` (and the default outside production). */
export const DEFAULT_ADMIN_PASSWORD = '12345678';

/** Passwords anyone would try first: refused as USERS_ADMIN_PASSWORD in production. */
export const KNOWN_WEAK_PASSWORDS = new Set([DEFAULT_ADMIN_PASSWORD, '123456789', '1234567890', 'password', 'password1', 'admin', 'admin123', 'administrator', 'changeme', 'change-me', 'secret', 'qwertyui', 'letmein1']);

class AdminEnv {
  @IsEmail()
  USERS_ADMIN_EMAIL = 'admin@example.com';

  /** Read only when the first admin is created (no admin exists yet); change it later through the API. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  USERS_ADMIN_PASSWORD?: string;
}

export const adminConfig = registerAs('admin', () => {
  const env = validateConfig(process.env, AdminEnv);
  // Production has no default: without a password the first admin cannot be created (AdminBootstrapService says so).
  const password = env.USERS_ADMIN_PASSWORD ?? (runMode() === 'production' ? undefined : DEFAULT_ADMIN_PASSWORD);
  return { email: env.USERS_ADMIN_EMAIL.toLowerCase(), password };
});

export type AdminConfig = ReturnType<typeof adminConfig>;
