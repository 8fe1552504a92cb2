import { ExecutionContext, createParamDecorator } from '@nestjs/common';

/** Who made a change and in which request: recorded with the change's domain event. */
export interface Audit {
  /** The authenticated caller, or null for anonymous requests (self-registration, password reset). */
  actorId: string | null;
  requestId: string | null;
}

/** The request's Audit, from the authenticated caller (if any) and the request id. */
export const RequestAudit = createParamDecorator((_: unknown, context: ExecutionContext): Audit => {
  const request = context.switchToHttp().getRequest<{ id?: string; user?: { id: string } }>();
  return { actorId: request.user?.id ?? null, requestId: request.id ?? null };
});

/** For changes made by the service itself (the scheduler). */
export const SYSTEM_AUDIT: Audit = { actorId: null, requestId: null };
