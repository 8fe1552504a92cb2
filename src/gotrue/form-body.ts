import { FastifyInstance } from 'fastify';
import { AppError } from '../common/errors/app-error';

/**
 * Form-encoded bodies (`grant_type=password&email=…`), which OAuth clients send to GoTrue's /token, for
 * that route only: every other route still takes JSON alone (415 for a form).
 */
export function acceptGoTrueTokenForms(fastify: FastifyInstance, prefix: string): void {
  const tokenRoute = `${prefix}/token`;
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (request, body, done) => {
    if (request.routeOptions.url !== tokenRoute) return done(new AppError('UNSUPPORTED_MEDIA_TYPE'), undefined);
    done(null, Object.fromEntries(new URLSearchParams(body.toString())));
  });
}
