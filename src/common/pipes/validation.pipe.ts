import { ArgumentMetadata, ValidationError, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import { AppError, ErrorDetail } from '../errors/app-error';
import { badStringIn } from '../validation/validators';

/** Flattens class-validator's tree into `{field: 'credentials.username', problem}` details. */
function details(errors: ValidationError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((problem) => ({ field, problem }));
    return [...own, ...details(error.children ?? [], field)];
  });
}

/**
 * The global pipe (APP_PIPE): unknown fields are refused, so no body can set what it should not, a
 * query parameter given twice (`?limit=1&limit=2`) is refused rather than guessed at, and a NUL
 * character (#8 finding 7) or a lone surrogate in any string of a body, query or path parameter is refused.
 */
export class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata) {
    // Custom decorators' values (the current user, the audit) are not input, unless validated as such (ObjectBody).
    const input = metadata.type !== 'custom' || this.validateCustomDecorators;
    const bad = input ? badStringIn(value, metadata.data ?? '') : undefined;
    if (bad !== undefined) throw new AppError('VALIDATION_FAILED', bad.message, [{ field: bad.path || metadata.type, problem: bad.problem }]);
    if (metadata.type === 'query' && value && typeof value === 'object') {
      const repeated = Object.entries(value).filter(([, v]) => Array.isArray(v));
      if (repeated.length > 0) {
        throw new AppError('VALIDATION_FAILED', 'query parameters must not be repeated', repeated.map(([field]) => ({ field, problem: 'must be given once' })));
      }
    }
    // A body DTO takes a JSON object (or no body at all): `null`, an array or a scalar is refused, also
    // where every field is optional (else `null` would pass as an empty change).
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object && value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new AppError('VALIDATION_FAILED', 'the body must be a JSON object', [{ field: 'body', problem: 'must be a JSON object' }]);
    }
    return super.transform(value, metadata);
  }
}

export const VALIDATION_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => new AppError('VALIDATION_FAILED', undefined, details(errors)),
};

export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe(VALIDATION_OPTIONS);
}
