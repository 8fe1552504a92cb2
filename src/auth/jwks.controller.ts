import { Controller, Get, Header } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { Public } from '../common/decorators/auth.decorators';
import { JwksDto } from './dto/jwks.dto';
import { SigningKeys } from './signing-keys';

@ApiTags('tokens')
@Public()
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeys) {}

  /**
   * The public keys of access tokens
   *
   * @remarks Verify access tokens offline with these keys (RFC 7517): the key named by the token's `kid`, with
   * its `alg`. Cacheable for five minutes: a verifier that meets a `kid` it does not know fetches the set
   * again (the signing key changed), as JWKS clients such as jose's createRemoteJWKSet do.
   */
  @Get('jwks.json')
  @ApiErrors()
  @Header('Cache-Control', 'public, max-age=300')
  jwks(): JwksDto {
    return this.keys.jwks as JwksDto;
  }
}
