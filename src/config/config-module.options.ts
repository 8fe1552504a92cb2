import { ConfigModuleOptions } from '@nestjs/config';
import { adminConfig } from './admin.config';
import { appConfig } from './app.config';
import { authConfig } from './auth.config';
import { databaseConfig } from './database.config';

/** Every config namespace; each validates its own variables at boot and fails naming them. */
export const configModuleOptions: ConfigModuleOptions = {
  isGlobal: true,
  // Tests set their whole environment themselves: the development .env must not leak into them.
  ignoreEnvFile: process.env.NODE_ENV === 'test',
  load: [appConfig, databaseConfig, authConfig, adminConfig],
};
