import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';

/**
 * Adds `config` to the route's Fastify config (`request.routeOptions.config`, read by hooks). Unlike
 * @nestjs/platform-fastify's RouteConfig, which replaces it, several on one route add up.
 */
export function AddRouteConfig(config: Record<string, unknown>): MethodDecorator {
  return (_target, _method, descriptor) => {
    const handler = descriptor.value as object;
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler), ...config }, handler);
    return descriptor;
  };
}
