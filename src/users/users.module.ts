import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventsModule } from '../events/events.module';
import { MailModule } from '../mail/mail.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { AdminBootstrapService } from './admin-bootstrap.service';
import { User } from './entities/user.entity';
import { PasswordService } from './password.service';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';
import { EmailVerificationService } from './email-verification.service';
import { InvitationsService } from './invitations.service';
import { VerificationController } from './verification.controller';
import { UsersRpcController } from './users-rpc.controller';

@Module({
  imports: [TypeOrmModule.forFeature([User]), EventsModule, MailModule, WebhooksModule],
  controllers: [UsersController, VerificationController, UsersRpcController],
  providers: [UsersService, UsersRepository, PasswordService, AdminBootstrapService, EmailVerificationService, InvitationsService],
  exports: [UsersService, UsersRepository, PasswordService, EmailVerificationService, InvitationsService],
})
export class UsersModule {}
