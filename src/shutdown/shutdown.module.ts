import { Module } from '@nestjs/common';
import { GracefulShutdown } from './graceful-shutdown.service';

/** What happens between SIGTERM and exit (readiness turns 503, requests in flight finish, then everything closes). */
@Module({
  providers: [GracefulShutdown],
  exports: [GracefulShutdown],
})
export class ShutdownModule {}
