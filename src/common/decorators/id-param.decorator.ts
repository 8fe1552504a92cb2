import { Param, ParseUUIDPipe } from '@nestjs/common';
import { AppError } from '../errors/app-error';

/** A path parameter, refused with 400 INVALID_ID unless it is a UUID. */
export const UuidParam = (name: string) => Param(name, new ParseUUIDPipe({ exceptionFactory: () => new AppError('INVALID_ID') }));

/** The `:id` path parameter, refused with 400 INVALID_ID unless it is a UUID. */
export const IdParam = () => UuidParam('id');
