import { Param, ParseUUIDPipe } from '@nestjs/common';
import { AppError } from '../errors/app-error';

/** The `:id` path parameter, refused with 400 INVALID_ID unless it is a UUID. */
export const IdParam = () => Param('id', new ParseUUIDPipe({ exceptionFactory: () => new AppError('INVALID_ID') }));
