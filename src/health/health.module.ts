import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { EventsModule } from '../events/events.module';
import { MailModule } from '../mail/mail.module';
import { ShutdownModule } from '../shutdown/shutdown.module';
import { DependenciesHealth } from './dependencies.health';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json', logger: false }), EventsModule, MailModule, ShutdownModule],
  controllers: [HealthController],
  providers: [DependenciesHealth],
})
export class HealthModule {}
