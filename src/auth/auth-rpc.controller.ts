import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ApiExcludeController } from '@nestjs/swagger';
import { AccessTokenVerifier } from './access-token-verifier.service';
import { VerifiedTokenDto, VerifyTokenDto } from './dto/verify-token.dto';

/** The NATS API of the auth module (asyncapi.yaml): other services check access tokens here instead of over HTTP. */
@ApiExcludeController() // NATS, not HTTP: documented in asyncapi.yaml
@Controller()
export class AuthRpcController {
  constructor(private readonly verifier: AccessTokenVerifier) {}

  @MessagePattern('verify_token') // <USERS_ES_API_PREFIX>.verify_token (PrefixedNatsServer)
  async verifyToken(@Payload() dto: VerifyTokenDto): Promise<VerifiedTokenDto> {
    const { user, claims } = await this.verifier.verify(dto.token);
    return {
      user_id: user.id,
      role: user.role,
      verified: user.verifiedAt !== null,
      session_id: claims.sid,
      aal: claims.aal ?? 'aal1',
      expires_at: new Date(claims.exp * 1000).toISOString(),
    };
  }
}
