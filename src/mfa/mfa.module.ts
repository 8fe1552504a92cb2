import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { MfaController } from './mfa.controller';
import { MfaPolicy } from './mfa-policy.service';
import { MfaRepository } from './mfa.repository';
import { MfaService } from './mfa.service';
import { PasskeysRepository } from './passkeys.repository';
import { PasskeysService } from './passkeys.service';

/**
 * Second factors (#16): TOTP factors, passkeys (WebAuthn), recovery codes, challenges and the assurance rules. It issues no
 * session: the auth module (which imports this one) turns a verified second factor into an `aal2`
 * session, and its guard applies MfaPolicy; the GoTrue module adapts it to /auth/v1/factors.
 */
@Module({
  imports: [EventsModule],
  controllers: [MfaController],
  providers: [MfaService, MfaPolicy, MfaRepository, PasskeysService, PasskeysRepository],
  exports: [MfaService, MfaPolicy, PasskeysService],
})
export class MfaModule {}
