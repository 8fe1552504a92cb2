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
  ValidateIf,
  ValidationOptions,
} from 'class-validator';

export const USERNAME_PATTERN = /^(?!.*(__|--))[a-zA-Z0-9][a-zA-Z0-9_-]{0,31}$/;
export const METADATA_MAX_BYTES = 16 * 1024;
export const MAX_TAGS = 32;

/** May be left out, but not sent as null: for fields whose column cannot be empty. */
export const IsOmittable = () => ValidateIf((_object, value) => value !== undefined);

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 date-time with its offset (a bare date or local time would depend on the server). */
export function IsRfc3339(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isRfc3339',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value)),
        defaultMessage: () => '$property must be an RFC 3339 date-time such as 2024-10-24T13:31:52Z',
      },
    },
    options,
  );
}

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

/** What no string of the input may hold, and how a refusal says so. */
const STRING_RULES = [
  // PostgreSQL cannot store NUL in text or jsonb.
  { broken: (text: string) => text.includes('\u0000'), problem: 'must not contain NUL characters', message: 'strings must not contain NUL characters' },
  // A lone UTF-16 surrogate is no Unicode text (validator.js's isEmail throws on one).
  { broken: (text: string) => /\p{Cs}/u.test(text), problem: 'must be well-formed Unicode (no lone surrogates)', message: 'strings must be well-formed Unicode' },
];

/**
 * Keys naming a member of every object (`toString`, `hasOwnProperty`, …): class-transformer skips them
 * silently, so unknown-field refusal never saw them and a field named so vanished from metadata.
 */
const BUILT_IN_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));
const BUILT_IN_KEY_RULE = { problem: 'must not be the name of a built-in object property', message: 'object keys must not name built-in object properties' };

/**
 * The first string — value or object key — anywhere in a request's body, query or parameter that
 * breaks a STRING_RULE, with its path (`credentials.secret`, `tags.2`); undefined when none does. Such
 * input is refused before it reaches validation or a query. Walked with a stack of its own: a deeply
 * nested body cannot overflow the call stack.
 */
export function badStringIn(value: unknown, root: string): { path: string; problem: string; message: string } | undefined {
  const brokenRule = (text: string) => STRING_RULES.find((rule) => rule.broken(text));
  const pending: [unknown, string][] = [[value, root]];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      const rule = brokenRule(current);
      if (rule) return { path, problem: rule.problem, message: rule.message };
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        const childPath = path ? `${path}.${key}` : key;
        const rule = brokenRule(key) ?? (BUILT_IN_KEYS.has(key) ? BUILT_IN_KEY_RULE : undefined);
        if (rule) return { path: childPath, problem: rule.problem, message: rule.message };
        pending.push([child, childPath]);
      }
    }
  }
  return undefined;
}

/** JSON nesting no input of ours needs: deeper is refused before validation walks it (recursively). */
export const JSON_MAX_DEPTH = 32;

/** Whether objects and arrays in `value` nest more than `maxDepth` levels (a scalar is level 0); walked with a stack of its own. */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= maxDepth) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}
