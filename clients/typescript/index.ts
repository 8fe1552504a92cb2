import createClient, { Client, ClientOptions } from 'openapi-fetch';
import type { paths } from './schema';

export type { components, operations, paths } from './schema';
export type UsersClient = Client<paths>;

export interface UsersClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** The access token to send as `Authorization: Bearer …`, read before each request (undefined: none). */
  accessToken?: () => string | undefined;
}

/**
 * A client of the users service whose paths, parameters, bodies and answers TypeScript checks against
 * openapi.json (through schema.ts, generated from it by `npm run openapi:export`).
 */
export function createUsersClient(baseUrl: string, { accessToken, ...options }: UsersClientOptions = {}): UsersClient {
  const client = createClient<paths>({ baseUrl, ...options });
  if (accessToken) {
    client.use({
      onRequest({ request }) {
        const token = accessToken();
        // A request that brings its own token (a refresh token, a mailed link's token) keeps it.
        if (token && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${token}`);
        return request;
      },
    });
  }
  return client;
}
