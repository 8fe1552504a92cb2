import { ConfigModuleOptions } from '@nestjs/config';
import { adminConfig } from './admin.config';
import { appConfig } from './app.config';
import { authConfig } from './auth.config';
import { databaseConfig } from './database.config';
import { eventsConfig } from './events.config';
import { mailConfig } from './mail.config';
import { oauthConfig } from './oauth.config';
import { schedulerConfig } from './scheduler.config';

const NAMESPACES = [appConfig, databaseConfig, authConfig, adminConfig, mailConfig, eventsConfig, schedulerConfig, oauthConfig];

/** Every config namespace; each validates its own variables at boot and fails naming them. */
export const configModuleOptions: ConfigModuleOptions = {
  isGlobal: true,
  // Tests set their whole environment themselves: the development .env must not leak into them.
  ignoreEnvFile: process.env.NODE_ENV === 'test',
  load: NAMESPACES,
};

/** Validates every namespace now, so that a bad variable stops the boot before Nest logs anything. */
export function assertValidConfig(): void {
  for (const namespace of NAMESPACES) namespace();
}
