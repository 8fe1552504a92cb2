import { plainToInstance } from 'class-transformer';
import { ValidationArguments, ValidationOptions, registerDecorator, validateSync } from 'class-validator';
import { parseDuration } from './duration';

type Ctor<T> = new () => T;

/**
 * Validates the environment for one config namespace. Unset and empty variables take the defaults
 * declared on the class; a bad value stops the boot with a message naming every bad variable.
 */
export function validateConfig<T extends object>(env: NodeJS.ProcessEnv, schema: Ctor<T>): T {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const config = plainToInstance(schema, present, { exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false, forbidUnknownValues: false, stopAtFirstError: true });
  if (errors.length > 0) {
    const problems = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new Error(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return config;
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

export function IsDuration(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isDuration',
      target: object.constructor,
      propertyName,
      options: { message: (a: ValidationArguments) => `${a.property} must be a duration such as 500ms, 30s, 15m or 24h (got "${a.value}")`, ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && parseDuration(value) !== undefined },
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

/** Milliseconds of a duration that validation has already accepted. */
export function durationMs(value: string): number {
  return parseDuration(value) as number;
}
