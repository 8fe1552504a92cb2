import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ApiExcludeController } from '@nestjs/swagger';
import { GetUserDto } from './dto/get-user.dto';
import { PublicUserDto } from './dto/user-response.dto';
import { UsersService } from './users.service';

/** The NATS API of the users module (asyncapi.yaml). */
@ApiExcludeController() // NATS, not HTTP: documented in asyncapi.yaml
@Controller()
export class UsersRpcController {
  constructor(private readonly users: UsersService) {}

  /** The public view of an enabled user, as any signed-in user may see it. */
  @MessagePattern('get') // <USERS_ES_API_PREFIX>.get (PrefixedNatsServer)
  get(@Payload() dto: GetUserDto): Promise<PublicUserDto> {
    return this.users.publicView(dto.id);
  }
}
