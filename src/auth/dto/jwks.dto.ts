import { ApiProperty } from '@nestjs/swagger';

/** A public key that signs access tokens (RFC 7517). */
export class JwkDto {
  /** The key's id, which tokens name in their `kid` header: the RFC 7638 thumbprint of this key. */
  kid: string;
  @ApiProperty({ enum: ['EdDSA', 'ES256'] })
  alg: 'EdDSA' | 'ES256';
  @ApiProperty({ enum: ['OKP', 'EC'] })
  kty: string;
  @ApiProperty({ enum: ['sig'] })
  use: 'sig';
  /** @example "Ed25519" */
  crv?: string;
  x?: string;
  /** EC keys only. */
  y?: string;
}

/** The key set (RFC 7517) to verify access tokens with: the signing key first, then those before a rotation. */
export class JwksDto {
  /** Empty when tokens are HS256, whose key is a secret. */
  @ApiProperty({ type: [JwkDto] })
  keys: JwkDto[];
}
