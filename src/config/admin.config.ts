import { registerAs } from '@nestjs/config';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';
import { validateConfig } from './validate-config';

export const DEFAULT_ADMIN_PASSWORD = '12345678';

class AdminEnv {
  @IsEmail()
  USERS_ADMIN_EMAIL = 'admin@example.com';

  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  USERS_ADMIN_PASSWORD = DEFAULT_ADMIN_PASSWORD;
}

export const adminConfig = registerAs('admin', () => {
  const env = validateConfig(process.env, AdminEnv);
  return { email: env.USERS_ADMIN_EMAIL.toLowerCase(), password: env.USERS_ADMIN_PASSWORD };
});

export type AdminConfig = ReturnType<typeof adminConfig>;
