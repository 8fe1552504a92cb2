import { PublicUserDto, UserDto } from './dto/user-response.dto';
import { User } from './entities/user.entity';

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function toPublicUser(user: User): PublicUserDto {
  return {
    id: user.id,
    first_name: user.firstName,
    last_name: user.lastName,
    credentials: { username: user.username },
    profile_picture: user.profilePicture,
    metadata: user.metadata,
  };
}

export function toUser(user: User): UserDto {
  return {
    ...toPublicUser(user),
    email: user.email,
    tags: user.tags,
    private_metadata: user.privateMetadata,
    role: user.role,
    status: user.status,
    auth_provider: user.authProvider,
    user_type: user.userType,
    verified_at: iso(user.verifiedAt),
    mfa: user.mfaEnabled ?? false,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
    updated_by: user.updatedBy,
  };
}
