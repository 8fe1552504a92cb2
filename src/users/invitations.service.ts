import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Audit } from '../common/decorators/audit.decorator';
import { EventsService } from '../events/events.service';
import { LinkBuilder, LinkMailer } from '../mail/link-mailer.service';
import { InviteUserDto } from './dto/invite-user.dto';
import { UserDto } from './dto/user-response.dto';
import { User } from './entities/user.entity';
import { UsersRepository } from './users.repository';
import { toUser } from './users.mapper';

/**
 * Invitations (after GoTrue's invite): an admin creates an enabled user without a password, who is
 * mailed a set-password link (an invite token, 72 h by default). PUT /password/reset with that token
 * sets the password and verifies the address. Inviting an address again while its invitation was
 * never taken up (no password, not verified, no sign-in provider) mails a new link instead of a 409.
 */
@Injectable()
export class InvitationsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly users: UsersRepository,
    private readonly linkMailer: LinkMailer,
    private readonly events: EventsService,
  ) {}

  /** The invited user, and whether this re-sent a pending invitation rather than creating the user. `link`: see LinkMailer.send. */
  invite(dto: InviteUserDto, actor: User, audit: Audit, link?: LinkBuilder): Promise<{ user: UserDto; resent: boolean }> {
    return this.dataSource.transaction(async (manager) => {
      const pending = await this.users.findPendingInvitation(manager, dto.email);
      if (pending) {
        await this.linkMailer.send(manager, 'invite', pending, link);
        await this.events.record(manager, { operation: 'user.invite', userId: pending.id, audit, data: { email: pending.email, role: pending.role, invited_by: actor.id } });
        return { user: toUser(pending), resent: true };
      }
      const user = await this.users.insert(
        {
          email: dto.email,
          firstName: dto.first_name ?? dto.email.split('@')[0],
          lastName: dto.last_name ?? '',
          username: null,
          passwordHash: null,
          role: dto.role ?? 'user',
          status: 'enabled',
          updatedBy: actor.id,
        },
        manager,
      );
      await this.linkMailer.send(manager, 'invite', user, link);
      const view = toUser(user);
      await this.events.record(
        manager,
        { operation: 'user.create', userId: user.id, audit, data: { ...view } },
        { operation: 'user.invite', userId: user.id, audit, data: { email: user.email, role: user.role, invited_by: actor.id } },
      );
      return { user: view, resent: false };
    });
  }
}
