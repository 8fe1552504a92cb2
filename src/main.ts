import './thread-pool';
import { ConfigType } from '@nestjs/config';
import { createApp, startNatsApi } from './app.factory';
import { appConfig } from './config/app.config';

async function bootstrap() {
  const app = await createApp();
  const { host, port } = app.get<ConfigType<typeof appConfig>>(appConfig.KEY);
  await app.init();
  startNatsApi(app);
  await app.listen(port, host);
}

bootstrap().catch((error: unknown) => {
  // Configuration errors name the bad variable; print them plainly rather than as a stack trace.
  console.error(error instanceof Error && error.message.startsWith('Invalid configuration') ? error.message : error);
  process.exit(1);
});
