import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { AUTH_ERRORS, BODY_ERRORS } from '../src/common/decorators/api-errors.decorator';
import { ALLOW_AAL1, IS_PUBLIC, ROLES } from '../src/common/decorators/auth.decorators';
import { ERRORS, ErrorCode } from '../src/common/errors/error-codes';
import { sortKeysDeep } from '../src/common/utils/sort-keys';
import { TestApp, startTestApp } from './support/test-app';

/**
 * The public contract: the OpenAPI document the app serves is the committed openapi.json, and it
 * describes every route the app really registers, with our error body and its examples, the token
 * schemes, one-line summaries and SuperMQ's operation ids.
 */

const COMMITTED = join(__dirname, '..', 'openapi.json');
const ERROR_SCHEMA_REF = '#/components/schemas/ErrorResponseDto';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * Error responses that are not our error body, on purpose: the readiness probe answers 503 with
 * terminus' own report (API.md §4: "terminus results … 503 when not ready").
 */
const NOT_ERROR_BODY = new Set(['GET /health/ready 503', 'GET /health/live 503']);

/**
 * The GoTrue-compatible API (src/gotrue, under its default prefix) answers GoTrue's error body
 * (GoTrueErrorDto, with GoTrue's error_code strings), not ours: the checks of our error codes apply to
 * the other routes, and these get the same checks in GoTrue's terms.
 */
const GOTRUE_ERROR_REF = '#/components/schemas/GoTrueErrorDto';
const isGoTrue = (key: string) => key.includes(' /auth/v1/');

interface MediaType {
  schema?: { $ref?: string };
  examples?: Record<string, { summary?: string; value?: { statusCode?: number; code?: string; message?: string; error?: string } }>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content?: Record<string, MediaType> };
  responses: Record<string, { description?: string; content?: Record<string, MediaType> }>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; description?: string };
  servers?: { url: string }[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Partial<Record<(typeof HTTP_METHODS)[number], Operation>>>;
  components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }>; securitySchemes?: Record<string, unknown> };
}

/**
 * The operation ids of SuperMQ's users.yaml (apidocs/openapi/users.yaml of absmach/supermq), for the
 * operations we share with it: a client generated from either document has the same method names.
 */
const SUPERMQ_OPERATION_IDS: Record<string, string> = {
  'POST /users': 'createUser',
  'GET /users': 'listUsers',
  'GET /users/profile': 'getProfile',
  'GET /users/{id}': 'getUser',
  'PATCH /users/{id}': 'updateUser',
  'PATCH /users/{id}/username': 'updateUsername',
  'PATCH /users/{id}/tags': 'updateTags',
  'PATCH /users/{id}/picture': 'updateProfilePicture',
  'PATCH /users/{id}/email': 'updateEmail',
  'PATCH /users/{id}/role': 'updateRole',
  'POST /users/{id}/disable': 'disableUser',
  'POST /users/{id}/enable': 'enableUser',
  'PATCH /users/secret': 'updateSecret',
  'GET /users/search': 'searchUsers',
  'POST /password/reset-request': 'requestPasswordReset',
  'PUT /password/reset': 'resetPassword',
  'POST /users/tokens/issue': 'issueToken',
  'POST /users/tokens/refresh': 'refreshToken',
  'POST /users/send-verification': 'sendVerification',
  'GET /verify-email': 'verifyEmail',
  'GET /health': 'health',
};

/** `METHOD /path/{param}` for a Fastify or Nest path (`/users/:id`). */
function routeKey(method: string, path: string): string {
  const normalized = `/${path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1').replace(/:(\w+)/g, '{$1}');
  return `${method.toUpperCase()} ${normalized}`;
}

/**
 * The routes Fastify really serves, read from `printRoutes({ commonPrefix: false })`: a tree whose
 * lines are `<tree drawing><segment> (METHODS)`, four columns per level, a path being the
 * concatenation of the segments above it.
 */
function fastifyRoutes(tree: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│├└─\s]*)(\S.*?)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!match) continue;
    const depth = Math.round(match[1].length / 4) - 1;
    stack.length = Math.max(depth, 0);
    const path = stack.join('') + match[2];
    stack.push(match[2]);
    for (const method of match[3]?.split(',').map((m) => m.trim()) ?? []) routes.push(routeKey(method, path));
  }
  return routes;
}

interface NestRoute {
  key: string;
  isPublic: boolean;
  roles: string[] | undefined;
  /** @AllowAal1(): an aal1 session of a user with a second factor may use it (#16). */
  allowAal1: boolean;
}

/** Every handler of every controller, with the metadata the global guard reads. */
function nestRoutes(t: TestApp): NestRoute[] {
  const routes: NestRoute[] = [];
  for (const module of t.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: unknown[]) => unknown) | null;
      if (!controller) continue;
      const base = Reflect.getMetadata(PATH_METADATA, controller) as string | string[];
      // Inherited handlers too (the GoTrue controller is mounted as a subclass naming its prefix).
      const names = new Set<string>();
      for (let proto = controller.prototype as object; proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) Object.getOwnPropertyNames(proto).forEach((name) => names.add(name));
      for (const name of names) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (path === undefined || method === undefined) continue;
        const read = <T>(key: string): T | undefined => Reflect.getMetadata(key, handler) ?? Reflect.getMetadata(key, controller);
        for (const b of [base].flat()) {
          for (const p of [path].flat()) {
            routes.push({
              key: routeKey(RequestMethod[method], `${b}/${p}`),
              isPublic: read<boolean>(IS_PUBLIC) === true,
              roles: read<string[]>(ROLES),
              allowAal1: read<boolean>(ALLOW_AAL1) === true,
            });
          }
        }
      }
    }
  }
  return routes;
}

function operations(doc: OpenApiDocument): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((method) => item[method]).map((method): [string, Operation] => [`${method.toUpperCase()} ${path}`, item[method]!]),
  );
}

/** JSON paths where two documents differ (at most `limit`), for a readable drift message. */
function differences(a: unknown, b: unknown, path = '$', out: string[] = [], limit = 20): string[] {
  if (out.length >= limit) return out;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || a === null || b === null || typeof a !== 'object') {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: served ${JSON.stringify(a)?.slice(0, 120)} ≠ committed ${JSON.stringify(b)?.slice(0, 120)}`);
    return out;
  }
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const key of keys) differences((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`, out, limit);
  return out;
}

/** Every `$ref` anywhere in a JSON value. */
function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => refs(item, found));
  else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') found.push(child);
      else refs(child, found);
    }
  }
  return found;
}

/** The codes an error response lists in its description (`Error codes: A, B`). */
function listedCodes(description: string | undefined): string[] {
  const match = /Error codes: ([A-Z0-9_, ]+)/.exec(description ?? '');
  return match ? match[1].split(',').map((code) => code.trim()).filter(Boolean) : [];
}

describe('OpenAPI contract', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  let registered: string[];
  let handlers: NestRoute[];

  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.http.get('/docs-json').expect(200);
    doc = res.body as OpenApiDocument;
    const fastify = t.app.getHttpAdapter().getInstance();
    registered = [...new Set(fastifyRoutes(fastify.printRoutes({ commonPrefix: false })))]
      .filter((key) => !/^\S+ \/docs/.test(key))
      .filter((key) => !key.startsWith('HEAD ') && !key.startsWith('OPTIONS '))
      .sort();
    handlers = nestRoutes(t);
  });
  afterAll(() => t.close());

  it('the served document is the committed openapi.json (sorted)', () => {
    const hint = 'openapi.json is out of date with the code: run `npm run openapi:export` and commit the result';
    if (!existsSync(COMMITTED)) throw new Error(`${COMMITTED} is missing: ${hint}`);
    const served = sortKeysDeep(doc);
    const committed: unknown = JSON.parse(readFileSync(COMMITTED, 'utf8'));
    const diff = differences(served, committed);
    if (diff.length > 0) throw new Error(`${hint}.\nFirst differences:\n  ${diff.join('\n  ')}`);
    expect(served).toEqual(committed);
  });

  it('the committed openapi.json is stored sorted and pretty-printed, as the export writes it', () => {
    const text = readFileSync(COMMITTED, 'utf8');
    expect(text).toBe(`${JSON.stringify(sortKeysDeep(JSON.parse(text)), null, 2)}\n`);
  });

  it('is an OpenAPI 3 document with the access-token and refresh-token schemes, named as in SuperMQ', () => {
    expect(doc.openapi).toMatch(/^3\./);
    for (const scheme of ['bearerAuth', 'refreshAuth', 'passwordResetAuth']) {
      expect(doc.components.securitySchemes?.[scheme]).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer', description: expect.any(String) }));
    }
  });

  it('takes the refresh token with refreshAuth and the mailed link\'s token with passwordResetAuth, either in the body instead', () => {
    const byKey = new Map(operations(doc));
    expect(byKey.get('POST /users/tokens/refresh')?.security).toEqual([{ refreshAuth: [] }, {}]);
    expect(byKey.get('PUT /password/reset')?.security).toEqual([{ passwordResetAuth: [] }, {}]);
  });

  it('says of every operation which token it takes: none (`[]`) on the public ones, the access token on the others', () => {
    const byKey = new Map(operations(doc));
    const wrong: string[] = [];
    for (const { key, isPublic } of handlers) {
      const security = byKey.get(key)?.security;
      const schemes = security?.flatMap((requirement) => Object.keys(requirement)) ?? [];
      if (!security) wrong.push(`${key}: no security`);
      else if (isPublic && schemes.includes('bearerAuth')) wrong.push(`${key}: public, yet asks for the access token`);
      else if (!isPublic && !schemes.includes('bearerAuth')) wrong.push(`${key}: authenticated, yet no bearerAuth`);
    }
    expect(wrong).toEqual([]);
    expect(byKey.get('GET /health')?.security).toEqual([]);
    expect(byKey.get('POST /users')?.security).toEqual([{ bearerAuth: [] }, {}]);
  });

  it('names the service, tells how to log in on the Swagger UI page, and has a license', () => {
    expect(doc.info.title).toBe('Users service');
    expect(doc.info.description).toMatch(/Logging in on this page/);
    expect(doc.info.description).toMatch(/POST \/users\/tokens\/issue/);
    expect(doc.info.description).toMatch(/Authorize/);
    expect(doc.info).toHaveProperty('license.name', 'Apache 2.0');
  });

  it('serves from USERS_PUBLIC_URL (its default in the committed document)', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: 'http://localhost:9002' })]);
  });

  it('declares every tag the operations use, each with a description, in reading order', () => {
    expect(doc.tags?.map((tag) => tag.name)).toEqual(['users', 'tokens', 'mfa', 'e-mail', 'oauth', 'gotrue', 'health']);
    for (const tag of doc.tags ?? []) expect(tag.description).toEqual(expect.stringMatching(/\w/));
    const declared = new Set(doc.tags?.map((tag) => tag.name));
    const undeclared = operations(doc).flatMap(([key, op]) => (op.tags ?? ['(none)']).filter((tag) => !declared.has(tag)).map((tag) => `${key}: ${tag}`));
    expect(undeclared).toEqual([]);
  });

  it('gives every operation a one-line summary and a separate description', () => {
    const wrong: string[] = [];
    for (const [key, op] of operations(doc)) {
      if (!op.summary || /\n/.test(op.summary) || op.summary.length > 80) wrong.push(`${key}: summary ${JSON.stringify(op.summary)}`);
      if (!op.description || op.description === op.summary) wrong.push(`${key}: description ${JSON.stringify(op.description)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("uses SuperMQ's operation ids for the operations it shares with SuperMQ's users API", () => {
    const byKey = new Map(operations(doc));
    const ids = Object.fromEntries(Object.keys(SUPERMQ_OPERATION_IDS).map((key) => [key, byKey.get(key)?.operationId]));
    expect(ids).toEqual(SUPERMQ_OPERATION_IDS);
  });

  it('gives the other operations ids that read as method names (lowerCamelCase verbs, no controller prefix)', () => {
    const wrong = operations(doc)
      .map(([key, op]) => `${key}: ${op.operationId}`)
      .filter((entry) => !/: [a-z]+(?:[A-Z][a-z]*)*$/.test(entry) || /Controller/.test(entry));
    expect(wrong).toEqual([]);
  });

  it('shows, for each error status, one example per code it lists, each the body of that code', () => {
    const wrong: string[] = [];
    for (const [key, op] of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400 || NOT_ERROR_BODY.has(`${key} ${status}`)) continue;
        const examples = response.content?.['application/json']?.examples ?? {};
        const codes = listedCodes(response.description);
        if (Object.keys(examples).sort().join() !== [...codes].sort().join()) wrong.push(`${key} ${status}: examples ${Object.keys(examples).join()} for codes ${codes.join()}`);
        for (const [name, example] of Object.entries(examples)) {
          const body = example.value;
          if (body?.code !== name || String(body.statusCode) !== status || !body.message || !body.error || !example.summary) {
            wrong.push(`${key} ${status} ${name}: ${JSON.stringify(example)}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no longer shows one example for every error: the examples differ between statuses', () => {
    const op = new Map(operations(doc)).get('POST /users')!;
    const codesOf = (status: string) => Object.keys(op.responses[status]?.content?.['application/json']?.examples ?? {});
    expect(codesOf('409').sort()).toEqual(['EMAIL_TAKEN', 'USERNAME_TAKEN']);
    expect(codesOf('415')).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
    expect(codesOf('500')).toEqual(['INTERNAL']);
    expect(codesOf('401')).toContain('TOKEN_EXPIRED');
    expect(codesOf('401')).not.toContain('EMAIL_TAKEN');
  });

  it('the route enumeration finds the routes (sanity check of the test itself)', () => {
    expect(registered).toEqual(expect.arrayContaining(['GET /health', 'POST /users', 'GET /users/{id}', 'PATCH /users/{id}/role', 'GET /users/tokens/refresh-tokens']));
    expect(handlers.map((route) => route.key).sort()).toEqual(registered);
  });

  it('documents every route the app registers (Swagger UI aside)', () => {
    const documented = new Set(operations(doc).map(([key]) => key));
    expect(registered.filter((key) => !documented.has(key))).toEqual([]);
  });

  it('documents no route that the app does not serve', () => {
    const served = new Set(registered);
    expect(operations(doc).map(([key]) => key).filter((key) => !served.has(key))).toEqual([]);
  });

  it('gives every operation its success response (a 2xx, or a 3xx for the browser redirects of OAuth and of GoTrue\'s mailed link)', () => {
    const without2xx = operations(doc).filter(([key, op]) => !Object.keys(op.responses).some((status) => /^2\d\d$/.test(status) || status === '302' || (isGoTrue(key) && status === '303')));
    expect(without2xx.map(([key]) => key)).toEqual([]);
  });

  it('gives every operation a unique operationId', () => {
    const ids = operations(doc).map(([, op]) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents every error response with the ErrorResponseDto schema', () => {
    const wrong: string[] = [];
    for (const [key, op] of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400 || NOT_ERROR_BODY.has(`${key} ${status}`)) continue;
        const schema = response.content?.['application/json']?.schema;
        if (schema?.$ref !== (isGoTrue(key) ? GOTRUE_ERROR_REF : ERROR_SCHEMA_REF)) wrong.push(`${key} ${status}: ${JSON.stringify(response.content ?? null)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('lists, in each error response, only codes that answer with that status', () => {
    const wrong: string[] = [];
    for (const [key, op] of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400 || NOT_ERROR_BODY.has(`${key} ${status}`) || isGoTrue(key)) continue;
        const codes = listedCodes(response.description);
        if (codes.length === 0) wrong.push(`${key} ${status}: no "Error codes:" in ${JSON.stringify(response.description)}`);
        for (const code of codes) {
          const known = ERRORS[code as ErrorCode];
          if (!known || String(known.status) !== status) wrong.push(`${key} ${status}: ${code} (${known ? known.status : 'unknown code'})`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('documents 500 INTERNAL on every operation but the health probes', () => {
    const missing = operations(doc)
      .filter(([key]) => !key.includes(' /health'))
      .filter(([key, op]) => (isGoTrue(key) ? !op.responses['500'] : !listedCodes(op.responses['500']?.description).includes('INTERNAL')))
      .map(([key]) => key);
    expect(missing).toEqual([]);
  });

  it('documents 401 and the access-token scheme on every authenticated route', () => {
    const authenticated = handlers.filter((route) => !route.isPublic);
    expect(authenticated.length).toBeGreaterThan(10);
    const byKey = new Map(operations(doc));
    const wrong: string[] = [];
    for (const { key } of authenticated) {
      const op = byKey.get(key);
      if (!op) {
        wrong.push(`${key}: not documented`);
        continue;
      }
      if (!op.security?.some((requirement) => 'bearerAuth' in requirement)) wrong.push(`${key}: no bearerAuth security requirement`);
      if (isGoTrue(key)) {
        if (!op.responses['401'] || !op.responses['403']) wrong.push(`${key}: no 401 and 403 (GoTrue's missing and bad token)`);
        continue;
      }
      const codes = listedCodes(op.responses['401']?.description);
      for (const code of AUTH_ERRORS) if (!codes.includes(code)) wrong.push(`${key}: 401 does not list ${code}`);
    }
    expect(wrong).toEqual([]);
  });

  it('documents 403 FORBIDDEN on every role-restricted route', () => {
    const restricted = handlers.filter((route) => route.roles && route.roles.length > 0);
    expect(restricted.length).toBeGreaterThan(0);
    const byKey = new Map(operations(doc));
    const forbidden = (key: string) => (isGoTrue(key) ? Boolean(byKey.get(key)?.responses['403']) : listedCodes(byKey.get(key)?.responses['403']?.description).includes('FORBIDDEN'));
    const missing = restricted.filter(({ key }) => !forbidden(key)).map(({ key }) => key);
    expect(missing).toEqual([]);
  });

  it('documents 403 AAL2_REQUIRED on every route an aal1 session of a user with a second factor is refused (MfaPolicy)', () => {
    // Refused: any method but GET/HEAD, and a GET/HEAD of a user's `{id}` (someone else's), unless @AllowAal1().
    const refusable = handlers.filter(({ key, isPublic, allowAal1 }) => !isPublic && !allowAal1 && (!/^(GET|HEAD) /.test(key) || key.includes('{id}')));
    expect(refusable.length).toBeGreaterThan(10);
    const byKey = new Map(operations(doc));
    const documented = (key: string) => (isGoTrue(key) ? Boolean(byKey.get(key)?.responses['403']) : listedCodes(byKey.get(key)?.responses['403']?.description).includes('AAL2_REQUIRED'));
    expect(refusable.filter(({ key }) => !documented(key)).map(({ key }) => key)).toEqual([]);
  });

  it('gives every request body a JSON schema that exists in components', () => {
    const wrong: string[] = [];
    for (const [key, op] of operations(doc)) {
      if (!op.requestBody) continue;
      const types = Object.keys(op.requestBody.content ?? {});
      if (types.join() !== 'application/json') wrong.push(`${key}: request body types ${JSON.stringify(types)}`);
      const ref = op.requestBody.content?.['application/json']?.schema?.$ref;
      const name = ref?.replace('#/components/schemas/', '');
      if (!ref || !name || !doc.components.schemas[name]) wrong.push(`${key}: request body schema ${JSON.stringify(ref)} not in components`);
    }
    expect(wrong).toEqual([]);
  });

  it('documents a request body on exactly the operations that document the body errors (413, 415)', () => {
    const wrong = operations(doc)
      .filter(([, op]) => Boolean(op.requestBody) !== Boolean(op.responses['413'] && op.responses['415']))
      .map(([key, op]) => `${key}: requestBody ${op.requestBody ? 'yes' : 'no'}, 413/415 ${op.responses['413'] && op.responses['415'] ? 'yes' : 'no'}`);
    expect(wrong).toEqual([]);
  });

  it('documents the body errors on every operation with a request body', () => {
    const wrong: string[] = [];
    for (const [key, op] of operations(doc)) {
      if (!op.requestBody) continue;
      if (isGoTrue(key)) {
        if (!['400', '413', '415'].every((status) => op.responses[status])) wrong.push(`${key}: not all of 400, 413, 415`);
        continue;
      }
      const listed = Object.values(op.responses).flatMap((response) => listedCodes(response.description));
      for (const code of BODY_ERRORS) if (!listed.includes(code)) wrong.push(`${key}: ${code}`);
    }
    expect(wrong).toEqual([]);
  });

  it('resolves every $ref in the document', () => {
    const dangling = [...new Set(refs(doc))].filter((ref) => {
      const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
      return !name || !doc.components.schemas[name];
    });
    expect(dangling).toEqual([]);
  });

  it('lists every error code of error-codes.ts in the ErrorResponseDto code enum, and nothing else', () => {
    const schema = doc.components.schemas.ErrorResponseDto;
    expect(schema).toBeDefined();
    expect([...(schema.properties?.code?.enum ?? [])].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it('describes the error body as {statusCode, code, message, error, details?}', () => {
    const schema = doc.components.schemas.ErrorResponseDto as { properties?: Record<string, unknown>; required?: string[] };
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual(['code', 'details', 'error', 'message', 'statusCode']);
    expect([...(schema.required ?? [])].sort()).toEqual(['code', 'error', 'message', 'statusCode']);
  });
});

describe('OpenAPI document of a deployment', () => {
  it('names its USERS_PUBLIC_URL as the server, so that Swagger UI calls the service there', async () => {
    const t = await startTestApp({ env: { USERS_PUBLIC_URL: 'https://users.example.com' } });
    try {
      const res = await t.http.get('/docs-json').expect(200);
      expect(res.body.servers).toEqual([expect.objectContaining({ url: 'https://users.example.com' })]);
    } finally {
      await t.close();
    }
  });
});
