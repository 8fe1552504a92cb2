import { LinkMailer } from '../mail/link-mailer.service';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { authConfig } from '../config/auth.config';
import { AppError } from '../common/errors/app-error';
import { CreateUserDto } from './dto/create-user.dto';
import { User } from './entities/user.entity';
import { PasswordService } from './password.service';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';
import { EventsService } from '../events/events.service';
import { SignupHook } from '../webhooks/signup-hook.service';
import { EmailVerificationService } from './email-verification.service';
import { Audit } from '../common/decorators/audit.decorator';

const audit: Audit = { actorId: null, requestId: 'req-1' };

const someone = (overrides: Partial<User> = {}): User =>
  Object.assign(new User(), {
    id: '11111111-1111-4111-8111-111111111111',
    firstName: 'Ada',
    lastName: 'Lovelace',
    email: 'ada@example.com',
    username: 'ada',
    tags: ['x'],
    metadata: { team: 'core' },
    privateMetadata: { plan: 'pro' },
    profilePicture: null,
    role: 'user',
    status: 'enabled',
    authProvider: null,
    userType: null,
    verifiedAt: null,
    tokensRevokedAt: null,
    deletedAt: null,
    createdAt: new Date('2024-01-01T00:00:00Z'),
    updatedAt: new Date('2024-01-01T00:00:00Z'),
    updatedBy: null,
    ...overrides,
  });

const registration: CreateUserDto = {
  first_name: 'Bob',
  last_name: 'Builder',
  email: 'bob@example.com',
  credentials: { username: 'bob', secret: 'long-enough' },
};

describe('UsersService', () => {
  let service: UsersService;
  let repository: jest.Mocked<Pick<UsersRepository, 'insert' | 'findById' | 'update'>>;
  let allowSelfRegister: boolean;
  let record: jest.Mock;

  beforeEach(async () => {
    allowSelfRegister = true;
    record = jest.fn(async () => undefined);
    repository = {
      insert: jest.fn(async (changes) => someone({ ...(changes as Partial<User>), id: '22222222-2222-4222-8222-222222222222' })),
      findById: jest.fn(),
      update: jest.fn(),
    };
    const moduleRef = await Test.createTestingModule({
      providers: [
        UsersService,
        { provide: UsersRepository, useValue: repository },
        { provide: PasswordService, useValue: { assertAcceptable: jest.fn(), hash: jest.fn(async () => 'hash') } },
        // Transactions run their work on a stand-in manager: the repository and the events are mocked.
        { provide: DataSource, useValue: { transaction: (work: (manager: object) => unknown) => work({}) } },
        { provide: EventsService, useValue: { record } },
        { provide: EmailVerificationService, useValue: { queue: jest.fn(async (_manager: object, user: User) => ({ event: { operation: 'user.send_verification', userId: user.id } })) } },
        { provide: LinkMailer, useValue: { sendEmailChanged: jest.fn() } },
        { provide: SignupHook, useValue: { validate: jest.fn() } },
        { provide: authConfig.KEY, useFactory: () => ({ get allowSelfRegister() { return allowSelfRegister; } }) },
      ],
    }).compile();
    service = moduleRef.get(UsersService);
  });

  it('registers a user without ever returning the hash, and records user.create (without it) and the verification mail', async () => {
    const user = await service.register(registration, undefined, audit);
    expect(repository.insert).toHaveBeenCalledWith(expect.objectContaining({ email: 'bob@example.com', passwordHash: 'hash', role: 'user' }), {});
    expect(JSON.stringify(user)).not.toContain('hash');
    expect(record).toHaveBeenCalledWith({}, { operation: 'user.create', userId: user.id, audit, data: user }, { operation: 'user.send_verification', userId: user.id });
    expect(JSON.stringify(record.mock.calls)).not.toContain('hash');
  });

  it('refuses role or status from anyone but an admin', async () => {
    await expect(service.register({ ...registration, role: 'admin' }, someone(), audit)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(service.register({ ...registration, status: 'disabled' }, undefined, audit)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(repository.insert).not.toHaveBeenCalled();
    await expect(service.register({ ...registration, role: 'admin' }, someone({ role: 'admin' }), audit)).resolves.toMatchObject({ role: 'admin' });
  });

  it('asks for a token, then for an admin, when self-registration is off', async () => {
    allowSelfRegister = false;
    await expect(service.register(registration, undefined, audit)).rejects.toMatchObject({ code: 'TOKEN_MISSING' });
    await expect(service.register(registration, someone(), audit)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('shows other users only their public view, and only while enabled', async () => {
    const other = someone({ id: '33333333-3333-4333-8333-333333333333' });
    repository.findById.mockResolvedValue(other);
    const view = await service.view(someone(), other.id);
    expect(Object.keys(view).sort()).toEqual(['credentials', 'first_name', 'id', 'last_name', 'metadata', 'profile_picture']);

    repository.findById.mockResolvedValue({ ...other, status: 'disabled' } as User);
    const hidden = service.view(someone(), other.id);
    await expect(hidden).rejects.toBeInstanceOf(AppError);
    await expect(hidden).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    await expect(service.view(someone({ role: 'admin', id: '44444444-4444-4444-8444-444444444444' }), other.id)).resolves.toMatchObject({ status: 'disabled' });
  });

  it("refuses changes to another user's account", async () => {
    await expect(service.updateTags(someone(), '33333333-3333-4333-8333-333333333333', ['a'], audit)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(repository.update).not.toHaveBeenCalled();
    expect(record).not.toHaveBeenCalled();
  });
});
