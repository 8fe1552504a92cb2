import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { DEFAULT_ADMIN_PASSWORD, adminConfig } from '../config/admin.config';
import { PasswordService } from './password.service';
import { UsersRepository } from './users.repository';

/**
 * Creates the first admin at startup from USERS_ADMIN_EMAIL / USERS_ADMIN_PASSWORD — only while no
 * admin exists, so that renaming the admin, or changing its password through the API, is not undone
 * (or doubled) by the next restart: the variables are read for the first admin only. Replicas starting
 * together race on the unique e-mail index (INSERT … ON CONFLICT DO NOTHING), so one admin is written.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrapService.name);

  constructor(
    @Inject(adminConfig.KEY) private readonly admin: ConfigType<typeof adminConfig>,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
  ) {}

  async onApplicationBootstrap() {
    if (await this.users.anyAdminExists()) return;
    if (this.admin.password === undefined) {
      throw new Error('no admin exists yet and USERS_ADMIN_PASSWORD is not set: set it to create the first admin (it is read only then)');
    }
    if (this.admin.password === DEFAULT_ADMIN_PASSWORD) {
      this.logger.warn(
        '!!! USERS_ADMIN_PASSWORD is the development default "12345678": anyone can sign in as the admin. Production refuses it. !!!',
      );
    }

    const admin = {
      email: this.admin.email,
      firstName: 'Admin',
      lastName: 'Admin',
      passwordHash: await this.passwords.hash(this.admin.password),
      role: 'admin' as const,
      status: 'enabled' as const,
      verifiedAt: new Date(),
    };
    // The username "admin" may belong to someone else already: then the admin has none.
    const created =
      (await this.users.insertIfAbsent({ ...admin, username: 'admin' })) ||
      (!(await this.users.findByEmail(this.admin.email)) && (await this.users.insertIfAbsent({ ...admin, username: null })));
    if (created) this.logger.log(`created the first admin user ${this.admin.email}`);
    else this.logger.error(`no admin exists, and ${this.admin.email} (USERS_ADMIN_EMAIL) belongs to a user who is not one: set another USERS_ADMIN_EMAIL`);
  }
}
