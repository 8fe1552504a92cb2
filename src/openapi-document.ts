import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerCustomOptions, SwaggerModule } from '@nestjs/swagger';
import { version } from '../package.json';
import { SECURITY_SCHEMES } from './common/decorators/api-security.decorator';
import { PublicUrlEnv } from './config/public-url';

export const DOCUMENT_TITLE = 'Users service';

/** Shown at the top of Swagger UI: what the service is, how to log in on the page, how errors look. */
const DESCRIPTION = `Accounts, tokens, profiles and admin user management; SuperMQ's users API, which its SDKs use unchanged.

**Logging in on this page**
1. Open **tokens → POST /users/tokens/issue**, press *Try it out* and send \`{"identity": "<e-mail or username>", "secret": "<password>"}\`.
2. Copy \`access_token\` from the answer, press **Authorize** (top right) and paste it into **bearerAuth**; to try POST /users/tokens/refresh, paste \`refresh_token\` into **refreshAuth**.
3. Every operation with a lock now sends the token; the authorization survives a page reload. An access token lives 15 minutes by default: log in again or refresh when calls answer 401 TOKEN_EXPIRED.

**Errors** answer \`{statusCode, code, message, error, details?}\` (the GoTrue-compatible routes: GoTrue's \`{code, error_code, msg}\`) with a stable \`code\` to switch on; each error response lists its codes and shows an example of each.`;

/** The tags in the order Swagger UI shows them: the everyday calls first, operations' probes last. */
const TAGS: [name: string, description: string][] = [
  ['users', 'Registration, profiles and, for admins, user management'],
  ['tokens', 'Logging in: access tokens, rotating refresh tokens, sessions, logout and password change'],
  ['mfa', 'Second factors: TOTP factors (enrol, list, rename, remove), recovery codes, and an admin\'s view of a user\'s factors'],
  ['e-mail', 'The links sent by mail: e-mail verification, password reset and invitations'],
  ['oauth', 'Signing in with an OAuth/OIDC provider, and the cookie session of a browser UI'],
  ['gotrue', "GoTrue's (Supabase Auth's) API under GOTRUE_COMPAT_PREFIX, over the same users and sessions, with GoTrue's bodies and errors"],
  ['health', 'Service information, liveness and readiness probes, Prometheus metrics'],
];

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Operation ids are the handlers' method names, which follow SuperMQ's users.yaml (`createUser`, `issueToken`, …). */
const operationIdFactory = (_controller: string, method: string) => method;

/**
 * The OpenAPI document. `publicUrl` (USERS_PUBLIC_URL) is its server; the exported openapi.json has the
 * default, as a development setup serves it.
 */
export function buildOpenApiDocument(app: INestApplication, publicUrl = new PublicUrlEnv().USERS_PUBLIC_URL): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle(DOCUMENT_TITLE)
    .setDescription(DESCRIPTION)
    .setVersion(version)
    .setLicense('Apache 2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    .addServer(publicUrl, 'This service (USERS_PUBLIC_URL)');
  for (const [name, description] of TAGS) builder.addTag(name, description);
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) builder.addSecurity(name, scheme);
  const document = SwaggerModule.createDocument(app, builder.build(), { operationIdFactory });
  // An operation that names no token needs none; said explicitly (`security: []`), as linters and
  // client generators expect (the OpenAPI test checks this against the routes' @Public()).
  for (const item of Object.values(document.paths)) {
    for (const method of HTTP_METHODS) if (item[method]) item[method].security ??= [];
  }
  return document;
}

/** Swagger UI at /docs: it keeps the tokens given in Authorize across reloads and shows each call's duration. */
export const SWAGGER_UI_OPTIONS: SwaggerCustomOptions = {
  jsonDocumentUrl: 'docs-json',
  customSiteTitle: `${DOCUMENT_TITLE} API`,
  swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
};
