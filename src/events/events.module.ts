import { Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { ClientsModule, Transport } from '@nestjs/microservices';
import { eventsConfig } from '../config/events.config';
import { EventsRelay } from './events-relay.service';
import { EventsService } from './events.service';
import { NATS_CLIENT, natsConnectionOptions } from './nats-client';
import { WebhooksModule } from '../webhooks/webhooks.module';

@Module({
  imports: [
    WebhooksModule,
    ClientsModule.registerAsync([
      {
        name: NATS_CLIENT,
        inject: [eventsConfig.KEY],
        // The relay connects itself, and keeps trying while NATS is down (no waiting at startup).
        useFactory: (events: ConfigType<typeof eventsConfig>) => ({
          transport: Transport.NATS,
          options: { ...natsConnectionOptions(events), waitOnFirstConnect: false },
        }),
      },
    ]),
  ],
  providers: [EventsService, EventsRelay],
  exports: [EventsService, EventsRelay],
})
export class EventsModule {}
