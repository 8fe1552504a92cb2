import { accessSync, constants, statSync } from 'node:fs';
import bytes from 'bytes';
import { Transform, plainToInstance } from 'class-transformer';
import { ValidationArguments, ValidationOptions, getMetadataStorage, registerDecorator, validateSync } from 'class-validator';
import { isIP } from 'node:net';
import { parseDuration } from './duration';
import { parseRate } from './rate';

type Ctor<T> = new () => T;

/**
 * A configuration the service cannot start with: one line per bad variable, each naming it. main.ts
 * prints the message as it is (no stack trace), and the namespaces' problems are gathered into one.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Every environment class validated so far, with its defaults: the known variables (for typo warnings and the startup line). */
const SCHEMAS = new Map<Ctor<object>, object>();

/**
 * Validates the environment for one config namespace. Unset and empty variables take the defaults
 * declared on the class; bad values throw a ConfigError naming every bad variable.
 */
export function validateConfig<T extends object>(env: NodeJS.ProcessEnv, schema: Ctor<T>): T {
  if (!SCHEMAS.has(schema)) SCHEMAS.set(schema, new schema());
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const config = plainToInstance(schema, present, { exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false, forbidUnknownValues: false, stopAtFirstError: true });
  if (errors.length > 0) {
    // Every message names its variable; most already start with it.
    const problems = errors.map((e) => Object.values(e.constraints ?? {}).join('; ')).map((message, i) => (message.startsWith(errors[i].property) ? message : `${errors[i].property}: ${message}`));
    throw new ConfigError(problems);
  }
  return config;
}

/** The variables of every namespace validated so far, each with its declared default (undefined: none). */
export function knownVariables(): Map<string, unknown> {
  const known = new Map<string, unknown>();
  for (const [schema, defaults] of SCHEMAS) {
    for (const { propertyName } of getMetadataStorage().getTargetValidationMetadatas(schema, '', true, false)) {
      known.set(propertyName, (defaults as Record<string, unknown>)[propertyName]);
    }
  }
  return known;
}

/**
 * For the few variables where "set but empty" means "off" (EMAIL_HOST, USERS_ES_URL) rather than
 * "default": undefined when the variable is set to an empty string, else the validated value.
 */
export function unlessEmpty<T>(env: NodeJS.ProcessEnv, name: string, value: T): T | undefined {
  return env[name]?.trim() === '' ? undefined : value;
}

/** `true`/`false` (any case, also 1/0) from an environment string. */
export function toBoolean({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(normalized)) return true;
  if (['false', '0', 'no'].includes(normalized)) return false;
  return value;
}

/**
 * A Go-style duration. Zero is refused, with a message saying so, unless the setting declares what a
 * zero turns off (`zeroMeans`, e.g. "no throttle"): a zero token lifetime or job interval makes no sense.
 */
export function IsDuration({ zeroMeans }: { zeroMeans?: string } = {}) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isDuration',
      target: object.constructor,
      propertyName,
      options: {
        message: (a: ValidationArguments) =>
          typeof a.value === 'string' && parseDuration(a.value) === 0
            ? `${a.property} must be more than zero (got "${a.value}")`
            : `${a.property} must be a duration such as 500ms, 30s, 15m or 24h (got "${a.value}")`,
      },
      validator: {
        validate: (value: unknown) => {
          const ms = typeof value === 'string' ? parseDuration(value) : undefined;
          return ms !== undefined && (ms > 0 || zeroMeans !== undefined);
        },
      },
    });
}

export function IsRegExp(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isRegExp',
      target: object.constructor,
      propertyName,
      options: { message: (a: ValidationArguments) => `${a.property} must be a valid regular expression`, ...options },
      validator: {
        validate: (value: unknown) => {
          try {
            new RegExp(String(value));
            return true;
          } catch {
            return false;
          }
        },
      },
    });
}

/**
 * A whole number within [min, max], read from its decimal string. One message for every way it can be
 * wrong (`USERS_DB_PORT=abc` is "must be a whole number from 1 to 65535", not "must not be greater").
 */
export function IsIntegerBetween(min: number, max = Number.MAX_SAFE_INTEGER) {
  const toInteger = Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value));
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  return (object: object, propertyName: string) => {
    toInteger(object, propertyName);
    registerDecorator({
      name: 'isIntegerBetween',
      target: object.constructor,
      propertyName,
      options: { message: (a: ValidationArguments) => `${a.property} must be a whole number ${range} (got "${a.value}")` },
      validator: { validate: (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max },
    });
  };
}

/**
 * A secret with no default: unset says how to make one, too short says how long (the value itself
 * is never repeated).
 */
export function IsSecret(minLength = 32) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isSecret',
      target: object.constructor,
      propertyName,
      options: {
        message: (a: ValidationArguments) =>
          typeof a.value !== 'string'
            ? `${a.property} is required (e.g. \`openssl rand -base64 48\`)`
            : `${a.property} must be at least ${minLength} characters long (it has ${a.value.length}; e.g. \`openssl rand -base64 48\`)`,
      },
      validator: { validate: (value: unknown) => typeof value === 'string' && value.length >= minLength },
    });
}

/** An optional path to a file the service reads at startup (TLS certificates and keys): it must exist and be readable. */
export function IsReadableFile() {
  let problem = '';
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isReadableFile',
      target: object.constructor,
      propertyName,
      options: { message: (a: ValidationArguments) => `${a.property} cannot be read: "${a.value}" (${problem})` },
      validator: {
        validate: (value: unknown) => {
          if (value === undefined) return true;
          try {
            if (!statSync(String(value)).isFile()) throw Object.assign(new Error(), { code: 'EISDIR' });
            accessSync(String(value), constants.R_OK);
            return true;
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            problem = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'not a file' : String(code);
            return false;
          }
        },
      },
    });
}

/** A size such as `100kb`, `1mb` or `65536` (bytes), within [min, max] bytes. */
export function IsByteSize(min: number, max: number) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isByteSize',
      target: object.constructor,
      propertyName,
      options: { message: (a: ValidationArguments) => `${a.property} must be a size from ${bytes.format(min)} to ${bytes.format(max)}, such as 100kb or 1mb (got "${a.value}")` },
      validator: {
        validate: (value: unknown) => {
          const size = typeof value === 'string' ? bytes.parse(value) : null;
          return size !== null && Number.isSafeInteger(size) && size >= min && size <= max;
        },
      },
    });
}

/** Bytes of a size that validation has already accepted. */
export function byteSize(value: string): number {
  return bytes.parse(value) as number;
}

/** Milliseconds of a duration that validation has already accepted. */
export function durationMs(value: string): number {
  return parseDuration(value) as number;
}

/** A limit in `count/window` form, such as `30/5m` (see rate.ts). */
export function IsRate() {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isRate',
      target: object.constructor,
      propertyName,
      options: { message: (a: ValidationArguments) => `${a.property} must be a limit such as 30/5m: a count from 1, a slash and a window of whole seconds (got "${a.value}")` },
      validator: { validate: (value: unknown) => typeof value === 'string' && parseRate(value) !== undefined },
    });
}

/** One IP address or CIDR range (`10.0.0.0/8`, `::1`, `fd00::/8`); undefined when it is neither. */
export function parseAddressOrRange(value: string): string | undefined {
  const [address, prefix, ...rest] = value.trim().split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return undefined;
  if (prefix === undefined) return address;
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  return bits <= (family === 4 ? 32 : 128) ? `${address}/${bits}` : undefined;
}

/** A comma-separated list of IP addresses and CIDR ranges (empty: none). */
export function IsAddressList() {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isAddressList',
      target: object.constructor,
      propertyName,
      options: {
        message: (a: ValidationArguments) => {
          const bad = addressListItems(String(a.value)).filter((item) => parseAddressOrRange(item) === undefined);
          return `${a.property} must be a comma-separated list of IP addresses or CIDR ranges such as 10.0.0.0/8 (not an address: ${bad.map((item) => `"${item}"`).join(', ')})`;
        },
      },
      validator: { validate: (value: unknown) => typeof value === 'string' && addressListItems(value).every((item) => parseAddressOrRange(item) !== undefined) },
    });
}

/** The items of a comma-separated list, trimmed, empty ones dropped. */
export function addressListItems(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter(Boolean);
}
