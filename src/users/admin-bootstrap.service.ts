import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { DEFAULT_ADMIN_PASSWORD, adminConfig } from '../config/admin.config';
import { PasswordService } from './password.service';
import { UsersRepository } from './users.repository';

/**
 * Creates the configured admin at startup when no user has its e-mail. Replicas starting together race
 * on the unique index (INSERT … ON CONFLICT DO NOTHING), so exactly one admin is written.
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
    if (this.admin.password === DEFAULT_ADMIN_PASSWORD) {
      this.logger.warn(
        '!!! USERS_ADMIN_PASSWORD is the default "12345678": anyone can sign in as the admin. Set a strong password before exposing this service. !!!',
      );
    }
    if (await this.users.findByEmail(this.admin.email)) return;

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
    if (created) this.logger.log(`created the admin user ${this.admin.email}`);
  }
}
