import { ArgumentMetadata, ExecutionContext, Type, createParamDecorator } from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import { AppError } from '../errors/app-error';
import { AppValidationPipe, VALIDATION_OPTIONS } from '../pipes/validation.pipe';

type JsonObject = Record<string, unknown>;

const isJsonObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The fields a DTO class validates, i.e. the fields its route takes. */
function declaredFields(type: Type<object> | Function): Set<string> {
  return new Set(getMetadataStorage().getTargetValidationMetadatas(type, '', true, false).map((rule) => rule.propertyName));
}

/**
 * Validates a body that may be a whole entity object (see ObjectBody): the entity's fields that the
 * route's DTO does not declare are checked against the entity's shape, then dropped; the rest is
 * validated by the route's DTO as usual, unknown fields refused.
 */
class ObjectBodyPipe extends AppValidationPipe {
  private readonly objectFields: Set<string>;

  constructor(private readonly objectType: Type<object>) {
    super({ ...VALIDATION_OPTIONS, validateCustomDecorators: true });
    this.objectFields = declaredFields(objectType);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata) {
    if (!isJsonObject(value) || !metadata.metatype) return super.transform(value, metadata);
    const taken = declaredFields(metadata.metatype);
    const ignored = (field: string) => this.objectFields.has(field) && !taken.has(field);
    const entries = Object.entries(value);
    await super.transform(Object.fromEntries(entries.filter(([field]) => ignored(field))), { ...metadata, metatype: this.objectType });
    return super.transform(Object.fromEntries(entries.filter(([field]) => !ignored(field))), metadata);
  }
}

/** An `id` in the body names the resource of the path (`:id`), or nothing (`""`, as Go sends an unset id). */
const objectBody = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = context.switchToHttp().getRequest<{ body: unknown; params: { id?: string } }>();
  const { body, params } = request;
  if (isJsonObject(body) && body.id !== undefined && body.id !== '' && body.id !== params.id) {
    const problem = params.id === undefined ? 'must be empty: the server makes the id' : 'must be empty or the id in the path';
    throw new AppError('VALIDATION_FAILED', undefined, [{ field: 'id', problem }]);
  }
  return body;
});

/**
 * The request body of a route that clients send a whole entity object to, as SuperMQ's SDKs do with
 * their User struct on every create and PATCH: a field of `objectType` that the route does not change
 * is ignored rather than refused, and a field that `objectType` does not have either is still refused
 * (typos fail loudly). Use it in place of @Body().
 */
export function ObjectBody(objectType: Type<object>): ParameterDecorator {
  const pipe = new ObjectBodyPipe(objectType);
  return (target, method, index) => {
    objectBody(undefined, pipe)(target, method, index);
    // The document shows the route's own DTO, as for @Body().
    const dto = (Reflect.getMetadata('design:paramtypes', target, method!) as Type<object>[])[index];
    ApiBody({ type: dto, required: true })(target, method!, Object.getOwnPropertyDescriptor(target, method!)!);
  };
}
