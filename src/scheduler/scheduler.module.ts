import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { EventsModule } from '../events/events.module';
import { CleanupService } from './cleanup.service';
import { PurgeService } from './purge.service';
import { SchedulerService } from './scheduler.service';

@Module({
  imports: [ScheduleModule.forRoot(), EventsModule],
  providers: [SchedulerService, PurgeService, CleanupService],
})
export class SchedulerModule {}
