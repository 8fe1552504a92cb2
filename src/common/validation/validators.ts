import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEmail,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateBy,
  ValidationOptions,
} from 'class-validator';

export const USERNAME_PATTERN = /^(?!.*(__|--))[a-zA-Z0-9][a-zA-Z0-9_-]{0,31}$/;
export const METADATA_MAX_BYTES = 16 * 1024;
export const MAX_TAGS = 32;

const trim = Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));

/** 1–254 characters after trimming. */
export const IsName = () => applyDecorators(trim, IsString(), Length(1, 254));

/** An e-mail address, normalised to lower case. */
export const IsNormalizedEmail = () =>
  applyDecorators(
    Transform(({ value }) => (typeof value === 'string' ? value.trim().toLowerCase() : value)),
    IsString(),
    MaxLength(254),
    IsEmail({}, { message: '$property must be an e-mail address' }),
  );

export const IsUsername = () =>
  applyDecorators(
    IsString(),
    Matches(USERNAME_PATTERN, {
      message: '$property must be 1–32 letters, digits, "_" or "-", start with a letter or digit, and not contain "__" or "--"',
    }),
  );

/** At most 32 distinct tags of 1–64 characters. */
export const IsTags = () =>
  applyDecorators(
    Transform(({ value }) => (Array.isArray(value) ? [...new Set(value)] : value)),
    IsArray(),
    ArrayMaxSize(MAX_TAGS),
    IsString({ each: true }),
    Length(1, 64, { each: true }),
  );

/** A plain JSON object whose serialisation fits in 16 KiB. */
export function IsMetadata(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isMetadata',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Buffer.byteLength(JSON.stringify(value)) <= METADATA_MAX_BYTES,
        defaultMessage: () => `$property must be a JSON object of at most ${METADATA_MAX_BYTES} bytes`,
      },
    },
    options,
  );
}

export const IsUserType = () => applyDecorators(trim, IsString(), Length(1, 64));
