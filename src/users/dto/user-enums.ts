import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsIn } from 'class-validator';
import { USER_ROLES, UserRole, UserStatus } from '../entities/user.entity';

/**
 * Magistrala's users README (seed 001) writes `role` and `status` as its Go enums' numbers
 * (`"role": 0, "status": 0`): role 0 user, 1 admin; status 0 enabled, 1 disabled. Clients written
 * from it send them; they mean the names, which is what the API answers with.
 */
const ROLE_NUMBERS: Record<number, UserRole> = { 0: 'user', 1: 'admin' };
const STATUS_NUMBERS: Record<number, UserStatus> = { 0: 'enabled', 1: 'disabled' };

const nameOfNumber = (names: Record<number, string>) =>
  Transform(({ value }) => (typeof value === 'number' && names[value] !== undefined ? names[value] : value));

/** A role in a request body: `user` or `admin`, or Magistrala's 0 or 1. */
export const IsUserRole = () => applyDecorators(nameOfNumber(ROLE_NUMBERS), IsIn(USER_ROLES));

/** A status in a request body: one of `statuses`, or Magistrala's 0 (enabled) or 1 (disabled). */
export const IsUserStatus = (statuses: readonly UserStatus[]) => applyDecorators(nameOfNumber(STATUS_NUMBERS), IsIn([...statuses]));
