import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { EventsModule } from '../events/events.module';
import { EventsHealthIndicator } from './events.health';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json', logger: false }), EventsModule],
  controllers: [HealthController],
  providers: [EventsHealthIndicator],
})
export class HealthModule {}
