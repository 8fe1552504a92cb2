import './thread-pool';
import './tracing';
import { ConfigType } from '@nestjs/config';
import { createApp, startNatsApi } from './app.factory';
import { processLogger } from './common/logging/logger';
import { appConfig } from './config/app.config';
import { ConfigError } from './config/validate-config';
import { GracefulShutdown } from './shutdown/graceful-shutdown.service';

async function bootstrap() {
  const app = await createApp();
  const { host, port } = app.get<ConfigType<typeof appConfig>>(appConfig.KEY);
  await app.init();
  // Nest's start-up lines before Fastify's "Server listening at …": the log reads in the order things happened.
  app.flushLogs();
  startNatsApi(app);
  app.get(GracefulShutdown).handleSignals(app);
  await app.listen(port, host);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    // Every bad variable, named, one per line: for the person reading the terminal, no stack trace.
    process.stderr.write(`${error.message}\n`);
  } else {
    const { message, code } = error as NodeJS.ErrnoException;
    processLogger().fatal({ error: { message, code } }, 'the service could not start');
  }
  process.exitCode = 1;
  // End whatever is still open once pino's asynchronous destination has written every line: on a
  // loaded machine a fixed moment was not enough, and the fatal line was lost. The timer only guards
  // against a flush that never completes.
  processLogger().flush(() => process.exit(1));
  setTimeout(() => process.exit(1), 5_000).unref();
});
