import { Module } from '@nestjs/common';
import { ConfigModule, ConfigType } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module';
import { AllExceptionsFilter } from './common/filters/all-exceptions.filter';
import { nestLoggerParams } from './common/logging/logger';
import { ShutdownReport } from './common/logging/shutdown-report';
import { createValidationPipe } from './common/pipes/validation.pipe';
import { appConfig } from './config/app.config';
import { configModuleOptions } from './config/config-module.options';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { OAuthModule } from './oauth/oauth.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { SchedulerModule } from './scheduler/scheduler.module';
import { ShutdownModule } from './shutdown/shutdown.module';
import { UsersModule } from './users/users.module';
import { WebhookDeliveryModule } from './webhooks/webhook-delivery.module';

@Module({
  imports: [
    ConfigModule.forRoot(configModuleOptions),
    LoggerModule.forRootAsync({
      inject: [appConfig.KEY],
      useFactory: (app: ConfigType<typeof appConfig>) => nestLoggerParams(app.logLevel),
    }),
    DatabaseModule,
    MetricsModule,
    RateLimitModule,
    UsersModule,
    AuthModule,
    HealthModule,
    SchedulerModule,
    OAuthModule,
    ShutdownModule,
    WebhookDeliveryModule,
  ],
  providers: [
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    ShutdownReport,
  ],
})
export class AppModule {}
