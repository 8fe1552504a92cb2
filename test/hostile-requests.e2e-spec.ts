/**
 * Hostile input at volume (#12): requests derived from openapi.json's operations (paths, parameters and
 * request-body schemas) by fast-check, and NATS API requests after asyncapi.yaml, sent to the built
 * service on PostgreSQL. Requests that must be refused (≥10,000 over HTTP, ≥1,000 over NATS) are all
 * 4xx in our JSON error body and leave the database as it was; hostile but well-formed requests and
 * raw requests with broken framing never get a 5xx, a foreign body or a stack trace; and after all of
 * it the service's heap, after a garbage collection, is back at its baseline.
 *
 * The seed is fixed and printed; HOSTILE_SEED=<n> replays another run. Counts by status are printed.
 */
import { KeyObject, createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { JWTPayload, SignJWT, decodeJwt, decodeProtectedHeader, exportJWK } from 'jose';
import { NatsConnection, connect } from 'nats';
import { Client } from 'pg';
import { BuiltApp, launchBuiltApp } from './support/built-app';
import { expectEventually } from './support/eventually';
import { MACHINE_NATS, asyncApiValidators, deleteStream, isolatedStream } from './support/nats';
import { PG, databaseEnv } from './support/postgres';
import { ADMIN, createTestDatabase } from './support/test-app';
import { PASSWORD } from './support/users';

const SEED = Number(process.env.HOSTILE_SEED ?? 1_236_012);
const HTTP_REFUSED = 10_500;
const HTTP_FREE = 800;
const NATS_REQUESTS = 1_200;
const CONCURRENCY = 12;
const BODY_LIMIT = 100 * 1024;
const JSON_MAX_DEPTH = 32;
/** How far the heap may stay above its baseline after everything (allocator slack, lazily compiled code). */
const HEAP_MARGIN_BYTES = 8 * 1024 * 1024;

type Json = unknown;
type Schema = {
  type?: string;
  enum?: Json[];
  format?: string;
  pattern?: string;
  nullable?: boolean;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  $ref?: string;
};
interface Param {
  name: string;
  in: 'path' | 'query';
  required?: boolean;
  schema: Schema;
}
/** One operation of openapi.json, as the generators use it. */
interface Operation {
  method: string;
  path: string;
  pathParams: Param[];
  query: Param[];
  body?: Schema;
  /** bearerAuth required (no anonymous alternative). */
  authRequired: boolean;
  /** Any security scheme (bearer, refresh or reset token), possibly optional. */
  takesBearer: boolean;
}
/** A request to send: what it tries (`label`), and the HTTP of it. */
interface HostileRequest {
  label: string;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: string | Buffer;
}
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const OPENAPI = JSON.parse(readFileSync(resolve(__dirname, '../openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, { parameters?: Param[]; requestBody?: { content: Record<string, { schema: Schema }> }; security?: Record<string, string[]>[] }>>;
  components: { schemas: Record<string, Schema> };
};
const ERROR_CODES = new Set(OPENAPI.components.schemas.ErrorResponseDto.properties!.code.enum as string[]);
/** Fields of the user object: an object body may carry them and they are ignored (ObjectBody), so no "extra field" may be one. */
const USER_FIELDS = new Set(Object.keys(OPENAPI.components.schemas.UserDto.properties!));

function deref(schema: Schema): Schema {
  if (schema.$ref) return deref(OPENAPI.components.schemas[schema.$ref.replace('#/components/schemas/', '')]);
  if (!schema.properties) return schema;
  return { ...schema, properties: Object.fromEntries(Object.entries(schema.properties).map(([name, property]) => [name, deref(property)])) };
}

const OPERATIONS: Operation[] = Object.entries(OPENAPI.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => {
    const security = operation.security ?? [];
    const parameters = operation.parameters ?? [];
    const body = operation.requestBody?.content['application/json']?.schema;
    return {
      method: method.toUpperCase(),
      path,
      pathParams: parameters.filter((parameter) => parameter.in === 'path'),
      query: parameters.filter((parameter) => parameter.in === 'query'),
      body: body ? deref(body) : undefined,
      authRequired: security.some((scheme) => 'bearerAuth' in scheme) && !security.some((scheme) => Object.keys(scheme).length === 0),
      takesBearer: security.some((scheme) => Object.keys(scheme).length > 0),
    };
  }),
);

// ---------------------------------------------------------------------------------------------------
// Values: what an attacker types into a field.

const INJECTIONS = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '" OR ""="',
  "1; SELECT pg_sleep(5)--",
  "admin'--",
  "') UNION SELECT id, password_hash FROM users --",
  '%27%20OR%201%3D1',
  '{"$gt": ""}',
  '{"$where": "sleep(1000)"}',
  '$ne',
  '{{7*7}}',
  '${7*7}',
  '#{7*7}',
  '<%= 7*7 %>',
  '{{constructor.constructor("return process")()}}',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '\\u0000',
  'admin@example.com\r\nBcc: victim@example.com',
  '() { :;}; echo vulnerable',
  '`id`',
  '$(id)',
  '__proto__',
  'constructor',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '0x7fffffff',
  'true',
  '[]',
  '{}',
];
const UNICODE = ['Zoë', 'Ἀριστοτέλης', '李小龙', 'محمد', 'עברית', '🧑‍🚀🚀', '👨‍👩‍👧‍👦', 'e\u0301', '\u202Eevil', '\uFEFFbom', 'ﬀ', 'İstanbul', '\u200B', 'ẞ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'];
const BAD_UUIDS = [
  'not-a-uuid',
  '123',
  '0',
  '-1',
  '00000000-0000-0000-0000-00000000000g',
  '00000000-0000-0000-0000-0000000000000',
  '00000000000000000000000000000000',
  '{00000000-0000-0000-0000-000000000000}',
  'urn:uuid:00000000-0000-0000-0000-000000000000',
  "1' OR '1'='1",
  '%27%3B%20DROP%20TABLE%20users%3B--',
  '%00',
  '%C0%AE%C0%AE',
  '..%2F..%2Fetc%2Fpasswd',
  '%F0%9F%A7%91',
  '%E2%80%AE',
  'a'.repeat(4000),
  'null',
  'undefined',
  '%7B%7D',
];
/** Keys no DTO declares (and no user field): forbidNonWhitelisted refuses each. */
const EXTRA_KEYS = ['zz_extra', '$where', '$gt', 'isAdmin', 'password_hash', 'deleted_at', 'is_admin', '__v', 'sub', 'a b', '🔑', '', 'constructor_', 'toString'];
const SAFE_PATH_UUID = () => fc.uuid().filter((id) => !KNOWN_IDS.has(id));
const KNOWN_IDS = new Set<string>();

const hostileText = (maxLength = 254) =>
  fc
    .oneof(
      fc.constantFrom(...INJECTIONS),
      fc.constantFrom(...UNICODE),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 24 }),
      fc.stringMatching(/^[A-Za-z][A-Za-z .'-]{0,30}$/),
    )
    .map((text) => text.replace(/\u0000/g, '').replace(/\p{Cs}/gu, ''))
    .map((text) => [...(text.trim() === '' ? 'x' : text)].slice(0, maxLength).join(''));

/** A well-formed value for `schema`, a field named `name`. */
function validValue(name: string, schema: Schema): fc.Arbitrary<Json> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'boolean':
      return fc.boolean();
    case 'number':
    case 'integer':
      return fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 100, 100) });
    case 'array':
      return fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), { maxLength: 4 });
    case 'object':
      if (schema.properties) return validObject(schema);
      return fc.dictionary(fc.stringMatching(/^[a-z][a-z_]{0,10}$/), fc.oneof(hostileText(64), fc.integer(), fc.boolean()), { maxKeys: 4 });
  }
  if (schema.format === 'uuid') return SAFE_PATH_UUID();
  if (schema.format === 'uri') return fc.constantFrom('https://example.com/a.png', 'https://cdn.example.org/p/1.jpg');
  if (/email|identity/.test(name)) return fc.stringMatching(/^[a-z][a-z0-9.]{2,20}$/).map((local) => `hostile.${local}@example.com`);
  if (/username|user_name/.test(name)) return fc.stringMatching(/^[a-z][a-z0-9_]{3,15}$/).map((text) => text.replace(/__+/g, '_'));
  if (/secret|password/.test(name)) return fc.constantFrom(PASSWORD, 'another-long-passphrase-42');
  if (/token/.test(name)) return fc.uint8Array({ minLength: 16, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('base64url'));
  return hostileText(Math.min(schema.maxLength ?? 254, 254));
}

function validObject(schema: Schema): fc.Arbitrary<Record<string, Json>> {
  const properties = schema.properties ?? {};
  return fc.record(Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, validValue(name, property)])), {
    requiredKeys: schema.required ?? [],
  }) as fc.Arbitrary<Record<string, Json>>;
}

/** A value of another JSON type than `schema`'s; null only where the field is required (optional fields may take null as absent). */
function wrongType(schema: Schema, required: boolean): fc.Arbitrary<Json> {
  const type = schema.enum ? 'enum' : (schema.type ?? 'string');
  const candidates: fc.Arbitrary<Json>[] = [];
  if (type !== 'number' && type !== 'integer') candidates.push(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(1e308)));
  if (type !== 'boolean') candidates.push(fc.boolean());
  if (type !== 'array') candidates.push(fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }));
  if (type !== 'object') candidates.push(fc.constant({ $gt: '' }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }));
  if (type === 'enum') candidates.push(fc.constantFrom('superadmin', 'ADMIN', 'root', ' user', ''));
  if (required && !schema.nullable) candidates.push(fc.constant(null));
  return fc.oneof(...candidates);
}

/** A string that must be refused anywhere: it holds a NUL or a lone surrogate. */
const brokenString = fc
  .tuple(hostileText(40), fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\udc00b', '\u0000\u0000'), fc.nat(40))
  .map(([text, broken, at]) => text.slice(0, at) + broken + text.slice(at));

/** Nested arrays/objects `depth` levels deep, around `leaf`. */
function nested(depth: number, leaf: Json = 1, objects = true): Json {
  let value = leaf;
  for (let level = 0; level < depth; level++) value = objects && level % 2 ? { a: value } : [value];
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Requests that must be refused, per operation.

interface Credentials {
  admin: string;
  user: string;
  userId: string;
  adminId: string;
  /** The user's refresh token: a forgery as an access token, but accepted where a refresh token is taken. */
  refresh: string;
  forged: string[];
}

/** The operation's path with its parameters (as given when they hold a %-escape, else escaped). */
const pathOf = (operation: Operation, values: Record<string, string> = {}) =>
  operation.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = values[name] ?? (name === 'provider' ? 'google' : 'ffffffff-ffff-4fff-bfff-ffffffffffff');
    return value.includes('%') ? value : encodeURIComponent(value);
  });

function queryString(entries: [string, string][]): string {
  return entries.length === 0 ? '' : `?${entries.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&')}`;
}

function validQuery(operation: Operation): fc.Arbitrary<[string, string][]> {
  const required = operation.query.filter((parameter) => parameter.required);
  const optional = operation.query.filter((parameter) => !parameter.required && parameter.schema.enum);
  return fc
    .tuple(
      fc.tuple(...required.map((parameter) => validValue(parameter.name, parameter.schema).map((value) => [parameter.name, String(value)] as [string, string]))),
      fc.subarray(optional, { maxLength: Math.min(3, optional.length) }).chain((chosen) =>
        fc.tuple(...chosen.map((parameter) => validValue(parameter.name, parameter.schema).map((value) => [parameter.name, String(value)] as [string, string]))),
      ),
    )
    .map(([a, b]) => [...a, ...b]);
}

function jsonRequest(label: string, operation: Operation, path: string, token: string | undefined, body?: Json, extraHeaders: Record<string, string | string[]> = {}): HostileRequest {
  const headers: Record<string, string | string[]> = { ...extraHeaders };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined && !('content-type' in headers)) headers['content-type'] = 'application/json';
  return { label, method: operation.method, path, headers, body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) };
}

/**
 * For one operation, requests each of which must be refused whatever else it holds: the credentials
 * are the strongest that fit (admin), so that the refusal comes from the input, deep in the handler's
 * validation, and not from a missing token.
 */
function refusedRequests(operation: Operation, credentials: Credentials): fc.Arbitrary<HostileRequest>[] {
  const name = `${operation.method} ${operation.path}`;
  const token = operation.authRequired || operation.path === '/users' ? credentials.admin : undefined;
  const basePath = fc.oneof(
    ...(operation.pathParams.some((parameter) => parameter.name === 'id') ? [SAFE_PATH_UUID().map((id) => pathOf(operation, { id }))] : [fc.constant(pathOf(operation))]),
  );
  const baseQuery = validQuery(operation);
  const baseBody: fc.Arbitrary<Json> = operation.body ? validObject(operation.body) : fc.constant(undefined);
  const base = fc.record({ path: basePath, query: baseQuery, body: baseBody });
  const arbitraries: fc.Arbitrary<HostileRequest>[] = [];
  const bodyless = !operation.body;

  // Unknown ids: a path id that is no UUID, or a UUID of nobody (404).
  if (operation.pathParams.some((parameter) => parameter.name === 'id')) {
    arbitraries.push(
      fc.record({ id: fc.oneof(fc.constantFrom(...BAD_UUIDS), SAFE_PATH_UUID()), rest: base, who: fc.constantFrom(credentials.admin, credentials.user) }).map(({ id, rest, who }) =>
        jsonRequest(`${name}: path id ${id.length > 40 ? `${id.slice(0, 20)}…` : id}`, operation, `${pathOf(operation, { id })}${queryString(rest.query)}`, who, rest.body),
      ),
    );
  }
  if (operation.pathParams.some((parameter) => parameter.name === 'provider')) {
    arbitraries.push(
      fc.constantFrom('facebook', 'GOOGLE', 'goo%00gle', '..%2Fadmin', "google'--", '%F0%9F%A7%91', 'a'.repeat(300)).map((provider) =>
        jsonRequest(`${name}: provider ${provider.slice(0, 20)}`, operation, pathOf(operation, { provider }), undefined),
      ),
    );
  }
  // Forged, broken, missing or foreign bearer tokens.
  if (operation.authRequired) {
    arbitraries.push(
      fc.record({ rest: base, forged: fc.constantFrom(...credentials.forged) }).map(({ rest, forged }) =>
        jsonRequest(`${name}: forged Authorization`, operation, `${rest.path}${queryString(rest.query)}`, undefined, rest.body, { authorization: forged }),
      ),
    );
    arbitraries.push(base.map((rest) => jsonRequest(`${name}: no token`, operation, `${rest.path}${queryString(rest.query)}`, undefined, rest.body)));
    arbitraries.push(
      base.map((rest) =>
        jsonRequest(`${name}: two Authorization headers`, operation, `${rest.path}${queryString(rest.query)}`, undefined, rest.body, { authorization: ['Bearer x.y.z', `Bearer ${credentials.admin}`] }),
      ),
    );
  } else if (operation.takesBearer) {
    // An optional token, if given, must be valid.
    arbitraries.push(
      fc.record({ rest: base, forged: fc.constantFrom(...credentials.forged.filter((forged) => /^Bearer \S/.test(forged) && !forged.includes(credentials.refresh))) }).map(({ rest, forged }) =>
        jsonRequest(`${name}: forged optional token`, operation, `${rest.path}${queryString(rest.query)}`, undefined, rest.body, { authorization: forged }),
      ),
    );
  }
  // Query parameters: repeated, of the wrong type or range, too long, with a NUL, unknown.
  if (operation.query.length > 0) {
    const withQuery = (label: string, mutate: fc.Arbitrary<(query: [string, string][]) => [string, string][]>) =>
      fc.record({ rest: base, mutate }).map(({ rest, mutate: apply }) => jsonRequest(`${name}: ${label}`, operation, `${rest.path}${queryString(apply(rest.query))}`, token, rest.body));
    const parameter = fc.constantFrom(...operation.query);
    arbitraries.push(
      withQuery('repeated query parameter', fc.tuple(parameter, fc.nat(3)).chain(([p]) => validValue(p.name, p.schema).map((value) => (query) => [...query.filter(([key]) => key !== p.name), [p.name, String(value)], [p.name, String(value)]]))),
      withQuery('query parameter with a NUL', fc.tuple(parameter, brokenString).map(([p, text]) => (query) => [...query.filter(([key]) => key !== p.name), [p.name, `a\u0000${text}`.replace(/\p{Cs}/gu, '')]])),
      withQuery('unknown query parameter', fc.tuple(fc.constantFrom('zz_extra', '$where', 'password_hash', 'limit[]', 'order[$gt]'), hostileText(20)).map(([key, value]) => (query) => [...query, [key, value]])),
    );
    const constrained = operation.query.filter((p) => p.schema.enum || p.schema.type === 'number' || p.schema.maxLength !== undefined || p.schema.pattern || /created_(from|to)|metadata/.test(p.name));
    if (constrained.length > 0) {
      arbitraries.push(
        withQuery(
          'query parameter out of its schema',
          fc.constantFrom(...constrained).chain((p) => {
            const bad = p.schema.enum
              ? fc.constantFrom('TRUE', 'yes', 'ASC', '1;DROP', "created_at'--", 'superadmin', '%')
              : p.schema.type === 'number'
                ? fc.constantFrom('abc', String((p.schema.minimum ?? 0) - 1), String((p.schema.maximum ?? 100) + 1), '1e400', '--1', "1'", '[]')
                : p.schema.maxLength !== undefined
                  ? fc.constant('q'.repeat(p.schema.maxLength + 1))
                  : p.schema.pattern
                    ? fc.constantFrom('zz', "'; --", 'g'.repeat(40))
                    : p.name === 'metadata'
                      ? fc.constantFrom('{not json', '[1,2]', '"text"', '{"a":', JSON.stringify(nested(40, 1)))
                      : fc.constantFrom('yesterday', '2024-13-45T99:99:99Z', '2024-01-01', "2024-01-01T00:00:00Z' OR 1=1");
            return bad.map((value) => (query: [string, string][]) => [...query.filter(([key]) => key !== p.name), [p.name, value]] as [string, string][]);
          }),
        ),
      );
    }
  }
  // Bodies mutated after the schema.
  if (operation.body) {
    const schema = operation.body;
    const properties = Object.entries(schema.properties ?? {});
    const required = new Set(schema.required ?? []);
    const withBody = (label: string, body: fc.Arbitrary<Json>, headers: Record<string, string> = {}) =>
      fc.record({ rest: base, body }).map(({ rest, body: mutated }) => jsonRequest(`${name}: ${label}`, operation, `${rest.path}${queryString(rest.query)}`, token, mutated, headers));
    const mutateField = (label: string, value: (field: string, property: Schema) => fc.Arbitrary<Json>) =>
      withBody(
        label,
        fc.tuple(baseBody, fc.constantFrom(...properties)).chain(([body, [field, property]]) => value(field, property).map((v) => ({ ...(body as object), [field]: v }))),
      );
    arbitraries.push(
      mutateField('field of the wrong type', (field, property) => wrongType(property, required.has(field))),
      mutateField('string with a NUL or lone surrogate', (_field, property) => (property.type === 'array' ? brokenString.map((text) => ['ok', text]) : property.type === 'object' && !property.properties ? brokenString.map((text) => ({ [text]: 1 })) : brokenString)),
      withBody('unknown field', fc.tuple(baseBody, fc.constantFrom(...EXTRA_KEYS.filter((key) => !USER_FIELDS.has(key))), fc.oneof(hostileText(), fc.integer(), fc.constant(null))).map(([body, key, value]) => ({ ...(body as object), [key]: value }))),
      withBody('deeply nested', fc.tuple(baseBody, fc.constantFrom(...properties.map(([field]) => field)), fc.integer({ min: JSON_MAX_DEPTH + 1, max: 2_000 }), fc.boolean()).map(([body, field, depth, objects]) => ({ ...(body as object), [field]: nested(depth, 'x', objects) }))),
      withBody('body over the size limit', fc.tuple(baseBody, fc.integer({ min: BODY_LIMIT + 1, max: 3 * BODY_LIMIT }), fc.constantFrom('a', 'é', '漢', '🧑')).map(([body, size, char]) => JSON.stringify({ ...(body as object), padding: char.repeat(Math.ceil(size / Buffer.byteLength(char))) }))),
      withBody('malformed JSON', fc.constantFrom('{', '{"a":', '{"a":1,}', "{'a':1}", '[1,2', 'NaN', '{"a":01}', '{"a":"\\x00"}', '\u00ef\u00bb\u00bf{}x', '{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"isAdmin":true}}}', '{"a":1}{"b":2}', 'nul', '{"a":"\\ud800"}', `{"a":"${'\\'.repeat(3)}"}`)),
      withBody('not an object', fc.constantFrom('[]', '[{}]', '"text"', '42', 'true', 'null', '[[[]]]')),
      withBody(
        'wrong content type',
        baseBody.map((body) => JSON.stringify(body)),
      ).chain((request) =>
        fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json', 'application/javascript', 'application/json-patch+json', 'image/png').map((type) => ({ ...request, headers: { ...request.headers, 'content-type': type } })),
      ),
    );
    if (required.size > 0) {
      arbitraries.push(
        withBody(
          'required field missing',
          fc.tuple(baseBody, fc.constantFrom(...required)).map(([body, field]) => Object.fromEntries(Object.entries(body as object).filter(([key]) => key !== field))),
        ),
      );
    }
    const bounded = properties.filter(([, property]) => property.maxLength !== undefined);
    if (bounded.length > 0) {
      arbitraries.push(
        withBody(
          'string over its maxLength',
          fc.tuple(baseBody, fc.constantFrom(...bounded), fc.integer({ min: 1, max: 3_000 }), fc.constantFrom('a', 'é', '漢')).map(([body, [field, property], over, char]) => ({ ...(body as object), [field]: char.repeat(property.maxLength! + over) })),
        ),
      );
    }
  } else if (operation.method !== 'GET' && operation.method !== 'DELETE') {
    // A body where none is taken: in a type we do not parse, or malformed.
    arbitraries.push(
      fc.record({ path: basePath, type: fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded') }).map(({ path, type }) =>
        jsonRequest(`${name}: body of a type we do not parse`, operation, path, token, 'a=1&b=2', { 'content-type': type }),
      ),
      fc.record({ path: basePath, body: fc.constantFrom('{', '{"a":', "{'a':1}", '{"__proto__":{}}') }).map(({ path, body }) => jsonRequest(`${name}: malformed JSON where no body is taken`, operation, path, token, body)),
    );
  }
  if (bodyless && operation.method === 'GET') {
    // Methods the path does not have.
    arbitraries.push(
      fc.record({ path: basePath, method: fc.constantFrom('PUT', 'TRACE', 'PROPFIND', 'PATCH') })
        .filter(({ method }) => !OPERATIONS.some((other) => other.path === operation.path && other.method === method))
        .map(({ path, method }) => ({ ...jsonRequest(`${name}: method ${method}`, operation, path, token), method })),
    );
  }
  return arbitraries;
}

/** Paths no operation has. */
const unknownRoutes = fc
  .tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH'), fc.constantFrom('/admin', '/users/%2e%2e/admin', '/.env', '/api/v1/users', '/users/search/../../etc/passwd', '/%00', '/users/tokens', '/wp-login.php', '/graphql', '/users/x/y/z'), hostileText(20))
  .map(([method, path, suffix]) => ({ label: `${method} unknown route`, method, path: `${path}?q=${encodeURIComponent(suffix)}`, headers: {} }) as HostileRequest);

// ---------------------------------------------------------------------------------------------------
// Hostile but well-formed: may be accepted; must never be a 5xx.

function freeRequests(credentials: Credentials, victimId: string): fc.Arbitrary<HostileRequest>[] {
  const get = (path: string, token?: string) => ({ label: `GET ${path.split('?')[0]} (well-formed)`, method: 'GET', path, headers: token ? { authorization: `Bearer ${token}` } : {} }) as HostileRequest;
  const send = (method: string, path: string, token: string | undefined, body: Json, label = `${method} ${path} (well-formed)`) =>
    ({ label, method, path, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) }) as HostileRequest;
  const text = hostileText(64);
  return [
    fc.tuple(fc.constantFrom('name', 'first_name', 'last_name', 'email', 'username', 'tag', 'user_type'), text, fc.constantFrom('admin', 'user')).map(([key, value, who]) =>
      get(`/users${queryString([[key, value]])}`, who === 'admin' ? credentials.admin : credentials.user),
    ),
    fc.tuple(fc.dictionary(fc.constantFrom('$gt', '$where', 'a', "k'--", '__proto__x'), text, { maxKeys: 3 }), fc.constantFrom('asc', 'desc')).map(([metadata, dir]) => get(`/users${queryString([['metadata', JSON.stringify(metadata)], ['dir', dir]])}`, credentials.admin)),
    fc.tuple(fc.constantFrom('username', 'first_name', 'last_name'), text.filter((value) => value.length >= 3)).map(([key, value]) => get(`/users/search${queryString([[key, value]])}`, credentials.user)),
    fc.constantFrom(victimId, credentials.userId, credentials.adminId).map((id) => get(`/users/${id}`, credentials.admin)),
    fc.constantFrom('/users/profile', '/users/tokens/refresh-tokens').map((path) => get(path, credentials.user)),
    fc.constantFrom('/health', '/health/live', '/health/ready', '/.well-known/jwks.json', '/oauth/providers', '/health?x=1&x=2', '/.well-known/jwks.json?%00=1').map((path) => get(path)),
    fc.tuple(text, text, fc.dictionary(fc.constantFrom('$where', 'note', "x'; --"), text, { maxKeys: 2 })).map(([first, last, metadata]) => send('PATCH', `/users/${victimId}`, credentials.admin, { first_name: first, last_name: last, metadata }, 'PATCH /users/{id} (well-formed)')),
    fc.uniqueArray(text.map((tag) => tag.slice(0, 64)), { maxLength: 5 }).map((tags) => send('PATCH', `/users/${victimId}/tags`, credentials.admin, { tags }, 'PATCH /users/{id}/tags (well-formed)')),
    fc.constantFrom('javascript:alert(1)', 'https://example.com/a.png', 'file:///etc/passwd', 'http://169.254.169.254/latest/meta-data', 'data:text/html,<script>alert(1)</script>').map((url) => send('PATCH', `/users/${victimId}/picture`, credentials.admin, { profile_picture: url }, 'PATCH /users/{id}/picture (well-formed)')),
    fc.constantFrom("' OR 1=1 --@example.com", '"a"@example.com', 'a@[127.0.0.1]', 'ü@example.com', 'a+b@example.com', 'fuzz.target@example.com').map((email) => send('POST', '/password/reset-request', undefined, { email })),
    text.map((token) => get(`/verify-email${queryString([['token', token]])}`)),
    text.map((token) => send('PUT', '/password/reset', undefined, { token, password: PASSWORD, confirm_password: PASSWORD })),
    text.map((token) => send('POST', '/users/tokens/refresh', undefined, { refresh_token: token })),
    fc.constantFrom('application/json; charset=utf-8', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/json;x=y').map((type) => ({ ...send('PATCH', `/users/${victimId}`, credentials.admin, { last_name: 'Charset' }), label: `PATCH /users/{id} content type ${type}`, headers: { 'content-type': type, authorization: `Bearer ${credentials.admin}` } })),
  ];
}

/** Registrations and logins with hostile but valid values: argon2 work each, so a few. */
function hashingRequests(): fc.Arbitrary<HostileRequest>[] {
  const text = hostileText(64);
  return [
    fc.tuple(text, text, fc.stringMatching(/^[a-z][a-z0-9]{5,12}$/)).map(([first, last, tag]) => ({
      label: 'POST /users (well-formed, hostile names)',
      method: 'POST',
      path: '/users',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ first_name: first, last_name: last, email: `h.${tag}.${randomBytes(3).toString('hex')}@example.com`, credentials: { username: `h_${tag}${randomBytes(2).toString('hex')}`, secret: PASSWORD } }),
    })),
    fc.tuple(text, text).map(([identity, secret]) => ({ label: 'POST /users/tokens/issue (well-formed)', method: 'POST', path: '/users/tokens/issue', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity, secret }) })),
  ];
}

// ---------------------------------------------------------------------------------------------------
// Sending and judging.

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function send(base: URL, request: HostileRequest): Promise<Answer> {
  return new Promise((done, fail) => {
    const outgoing = httpRequest({ host: base.hostname, port: base.port, method: request.method, path: request.path, headers: request.headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => done({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', fail);
    });
    outgoing.on('error', fail);
    outgoing.end(request.body);
  });
}

/** Bytes written on a connection of its own, and the answer read until the server closes it. */
function sendRaw(base: URL, bytes: Buffer | string): Promise<Answer> {
  return new Promise((done, fail) => {
    const socket = tcpConnect(Number(base.port), base.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : fail(error)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      done({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: rest.join('\r\n\r\n') });
    });
    socket.setTimeout(15_000, () => socket.destroy());
    socket.end(bytes);
  });
}

const STACK_OR_PATH = /\n\s+at |node_modules|\/src\/|\/dist\/|\.ts:\d+|\.js:\d+|QueryFailedError|TypeError|ReferenceError|SyntaxError|RangeError|stack/;

/** The GoTrue-compatible API (GOTRUE_COMPAT_PREFIX, default) answers in GoTrue's error body, not ours. */
const GOTRUE_PREFIX = '/auth/v1/';

/** What is wrong with an answer: the error body of its API for a 4xx (no other fields, no stack, no path), our headers. */
function problemsOf(answer: Answer, mustRefuse: boolean, path = ''): string[] {
  const problems: string[] = [];
  if (answer.status >= 500 || answer.status === 0) problems.push(`status ${answer.status}`);
  // The browser's OAuth routes refuse with a 303 to the UI's error page (`?error=`), as documented.
  const redirectedToError = answer.status === 303 && /[?&]error=/.test(String(answer.headers.location));
  if (mustRefuse && (answer.status < 400 || answer.status >= 500) && !redirectedToError) problems.push(`not refused (${answer.status})`);
  if (STACK_OR_PATH.test(answer.body)) problems.push('a stack trace, an internal path or an error class in the body');
  if (answer.headers['x-content-type-options'] !== 'nosniff') problems.push('no helmet headers');
  if (answer.status >= 400) {
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(answer.body) as Record<string, unknown>;
    } catch {
      problems.push(`not JSON: ${answer.body.slice(0, 80)}`);
    }
    if (!String(answer.headers['content-type']).startsWith('application/json')) problems.push(`content type ${answer.headers['content-type']}`);
    if (body) problems.push(...(path.startsWith(GOTRUE_PREFIX) ? goTrueErrorShapeProblems(body, answer.status) : errorShapeProblems(body, answer.status)));
  }
  return problems;
}

/** GoTrue's `{code, error_code, msg}` (POST /token adds OAuth's `error`/`error_description`; a refused password, `weak_password`). */
function goTrueErrorShapeProblems(body: Record<string, unknown>, status: number): string[] {
  const problems: string[] = [];
  const extra = Object.keys(body).filter((key) => !['code', 'error_code', 'msg', 'error', 'error_description', 'weak_password'].includes(key));
  if (extra.length > 0) problems.push(`foreign fields ${extra.join(', ')}`);
  if (body.code !== status) problems.push(`code ${String(body.code)} for ${status}`);
  if (typeof body.error_code !== 'string' || !/^[a-z_]+$/.test(body.error_code)) problems.push(`error_code ${String(body.error_code)}`);
  if (typeof body.msg !== 'string') problems.push('msg not a string');
  return problems;
}

function errorShapeProblems(body: Record<string, unknown>, status: number): string[] {
  const problems: string[] = [];
  const extra = Object.keys(body).filter((key) => !['statusCode', 'code', 'message', 'error', 'details'].includes(key));
  if (extra.length > 0) problems.push(`foreign fields ${extra.join(', ')}`);
  if (body.statusCode !== status) problems.push(`statusCode ${String(body.statusCode)} for ${status}`);
  if (!ERROR_CODES.has(body.code as string)) problems.push(`unknown code ${String(body.code)}`);
  if (typeof body.message !== 'string' || typeof body.error !== 'string') problems.push('message or error not a string');
  if (body.details !== undefined && !(Array.isArray(body.details) && body.details.every((detail) => typeof detail?.field === 'string' && typeof detail?.problem === 'string' && Object.keys(detail).length === 2))) {
    problems.push('details not [{field, problem}]');
  }
  return problems;
}

class Tally {
  readonly byStatus = new Map<string, number>();
  readonly failures: string[] = [];
  total = 0;

  /** The failures recorded since `start` (a count of failures before). */
  failuresSince(start: number): string[] {
    return this.failures.slice(start);
  }

  record(status: number | string, label: string, problems: string[]) {
    this.total++;
    this.byStatus.set(String(status), (this.byStatus.get(String(status)) ?? 0) + 1);
    if (problems.length > 0 && this.failures.length < 50) this.failures.push(`${label} → ${status}: ${problems.join('; ')}`);
  }

  summary(): string {
    return [...this.byStatus.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, count]) => `${status}: ${count}`)
      .join(', ');
  }
}

async function inPool<T>(items: T[], work: (item: T) => Promise<void>, concurrency = CONCURRENCY): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

// ---------------------------------------------------------------------------------------------------
// Database state and memory.

/** A checksum of every table's rows (order-independent). */
async function databaseChecksum(db: Client): Promise<Record<string, string>> {
  const { rows } = await db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`);
  const sums: Record<string, string> = {};
  for (const { table_name: table } of rows) {
    const [{ count, sum }] = (await db.query(`SELECT count(*)::int AS count, coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') AS sum FROM "${table}" t`)).rows;
    sums[table] = `${count}:${sum}`;
  }
  return sums;
}

/** The service's memory after a full garbage collection (test/support/heap-probe.js). */
async function heapOf(app: BuiltApp): Promise<{ heapUsed: number; rss: number }> {
  const probes = () => app.output().split('\n').filter((line) => line.startsWith('{"heapProbe"'));
  const before = probes().length;
  app.process.kill('SIGUSR2');
  let probe: { heapUsed: number; rss: number } | undefined;
  await expectEventually(() => {
    const lines = probes();
    expect(lines.length).toBeGreaterThan(before);
    probe = JSON.parse(lines[before]).heapProbe;
  });
  return probe!;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

// ---------------------------------------------------------------------------------------------------

describe(`hostile requests derived from openapi.json and asyncapi.yaml, seed ${SEED} (#12)`, () => {
  const keys = mkdtempSync(join(tmpdir(), 'hostile-keys-'));
  const signing = generateKeyPairSync('ed25519');
  const stranger = generateKeyPairSync('ed25519');
  const { api, stream, env: streamEnv } = isolatedStream();
  const http = new Tally();
  const nats = new Tally();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: BuiltApp & { ready(timeoutMs?: number): Promise<void> };
  let base: URL;
  let db: Client;
  let nc: NatsConnection;
  let credentials: Credentials;
  let victimId: string;
  let heapBaseline: { heapUsed: number; rss: number };

  const judge = async (tally: Tally, request: HostileRequest, mustRefuse: boolean) => {
    let answer: Answer;
    try {
      answer = await send(base, request);
    } catch (error) {
      tally.record('no answer', request.label, [(error as Error).message]);
      return;
    }
    const problems = problemsOf(answer, mustRefuse, request.path);
    const sent = request.body === undefined ? '' : ` ${String(request.body).slice(0, 160)}`;
    tally.record(answer.status, problems.length > 0 ? `${request.label} [${request.method} ${request.path.slice(0, 160)}${sent}]` : request.label, problems);
  };

  const post = async (path: string, body: Json, token?: string) => {
    const answer = await send(base, jsonRequest('setup', { method: 'POST' } as Operation, path, token, body));
    if (answer.status >= 300) throw new Error(`POST ${path}: ${answer.status} ${answer.body}`);
    return JSON.parse(answer.body) as Record<string, string>;
  };

  beforeAll(async () => {
    process.stdout.write(`hostile requests: seed ${SEED} (HOSTILE_SEED=${SEED} to replay)\n`);
    const keyFile = join(keys, 'signing.pem');
    writeFileSync(keyFile, signing.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    database = await createTestDatabase();
    nc = await connect({ servers: MACHINE_NATS });
    app = await launchBuiltApp(
      {
        ...databaseEnv(database.name),
        ...streamEnv(MACHINE_NATS),
        USERS_LOG_LEVEL: 'error',
        USERS_SECRET_KEY: 'hostile-requests-secret-key-0123456789abcdef',
        USERS_JWT_PRIVATE_KEY_FILE: keyFile,
        USERS_ADMIN_EMAIL: ADMIN.email,
        USERS_ADMIN_PASSWORD: ADMIN.password,
        USERS_ALLOW_SELF_REGISTER: 'true',
        USERS_HTTP_BODY_LIMIT: `${BODY_LIMIT}b`,
        USERS_RATE_LIMIT_ENABLED: 'false',
        EMAIL_HOST: '',
      },
      ['--expose-gc', '-r', resolve(__dirname, 'support/heap-probe.js')],
    );
    await app.ready(120_000);
    base = new URL(app.url);
    db = new Client({ ...PG, database: database.name });
    await db.connect();

    const admin = (await post('/users/tokens/issue', { identity: ADMIN.email, secret: ADMIN.password })).access_token;
    const userBody = { first_name: 'Fuzz', last_name: 'Target', email: 'fuzz.target@example.com', credentials: { username: 'fuzz_target', secret: PASSWORD } };
    const userId = (await post('/users', userBody)).id;
    await db.query('UPDATE users SET verified_at = now() WHERE id = $1', [userId]);
    const userTokens = await post('/users/tokens/issue', { identity: userBody.email, secret: PASSWORD });
    victimId = (await post('/users', { ...userBody, email: 'fuzz.victim@example.com', credentials: { username: 'fuzz_victim', secret: PASSWORD } })).id;
    const adminId = decodeJwt(admin).sub!;
    for (const id of [userId, victimId, adminId]) KNOWN_IDS.add(id);
    credentials = { admin, user: userTokens.access_token, userId, adminId, refresh: userTokens.refresh_token, forged: await forgedAuthorizations(userTokens.access_token, userTokens.refresh_token, signing.publicKey, stranger.privateKey) };

    // Warm-up: every kind of request once or more, so that lazily built code and bounded caches are in place before the baseline.
    await inPool(sample(SEED + 1, 600, refusedMix(credentials)), (request) => send(base, request).then(() => undefined, () => undefined));
    await inPool(sample(SEED + 2, 150, fc.oneof(...freeRequests(credentials, victimId))), (request) => send(base, request).then(() => undefined, () => undefined));
    await inPool(sample(SEED + 3, 150, natsRequests(credentials)), ({ subject, payload }) => nc.request(api(subject), payload, { timeout: 10_000 }).then(() => undefined, () => undefined));
    await expectEventually(async () => expect((await db.query(`SELECT count(*)::int AS n FROM outbox_events WHERE sent_at IS NULL`)).rows[0].n).toBe(0), 60_000);
    heapBaseline = await heapOf(app);
  }, 600_000); // (a guard against a hang: 10,500 requests on a loaded 2-core machine)

  afterAll(async () => {
    process.stdout.write(
      [
        `hostile requests (seed ${SEED}):`,
        `  HTTP ${http.total} by status: ${http.summary()}`,
        `  NATS ${nats.total} by answer: ${nats.summary()}`,
        '',
      ].join('\n'),
    );
    agent.destroy();
    await app?.stop();
    await db?.end();
    if (nc) await deleteStream(nc, stream);
    await nc?.close();
    await database?.drop();
    rmSync(keys, { recursive: true, force: true });
  });

  /** Forged, broken and foreign Authorization headers. */
  async function forgedAuthorizations(access: string, refresh: string, publicKey: KeyObject, otherKey: KeyObject): Promise<string[]> {
    const header = decodeProtectedHeader(access);
    const claims = decodeJwt(access);
    const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
    const hs256 = (secret: string | Buffer, head: object = { alg: 'HS256', typ: 'JWT', kid: header.kid }, body: object = claims) => {
      const input = `${b64(head)}.${b64(body)}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const jwk = await exportJWK(publicKey);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const signedBy = (key: KeyObject, kid: string | undefined, body: JWTPayload = claims) => new SignJWT(body).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', ...(kid ? { kid } : {}) }).sign(key);
    const now = Math.floor(Date.now() / 1000);
    const [, payload, signature] = access.split('.');
    const tokens = [
      `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      `${b64({ alg: 'none', typ: 'JWT', kid: header.kid })}.${b64({ ...claims, role: 'admin' })}.`,
      `${b64({ alg: 'NoNe' })}.${payload}.${signature}`,
      hs256(JSON.stringify(jwk)),
      hs256(pem),
      hs256(Buffer.from(jwk.x!, 'base64url')),
      hs256('hostile-requests-secret-key-0123456789abcdef', { alg: 'HS256', typ: 'JWT' }),
      await signedBy(otherKey, header.kid),
      await signedBy(otherKey, 'unknown-kid'),
      await signedBy(otherKey, undefined),
      await signedBy(signing.privateKey, header.kid, { ...claims, exp: now - 60, iat: now - 3_600 }),
      await signedBy(signing.privateKey, header.kid, { ...claims, sub: randomUUID() }),
      await signedBy(signing.privateKey, header.kid, { ...claims, type: 'refresh' }),
      await signedBy(signing.privateKey, header.kid, { ...claims, nbf: now + 3_600 }),
      await signedBy(signing.privateKey, '../../../../dev/null', claims),
      `${access.split('.').slice(0, 2).join('.')}.${Buffer.alloc(64).toString('base64url')}`,
      `${access}x`,
      access.slice(0, -5),
      access.split('.').slice(0, 2).join('.'),
      `${b64('{"alg":')}.${payload}.${signature}`,
      '!!!.@@@.###',
      'e30.e30.e30',
      '...',
      'a'.repeat(8_000),
      refresh,
      randomBytes(48).toString('base64'),
    ];
    return [
      ...tokens.map((token) => `Bearer ${token}`),
      `bearer ${tokens[0]}`,
      `Basic ${Buffer.from(`${ADMIN.email}:${ADMIN.password}`).toString('base64')}`,
      `Bearer`,
      `Bearer `,
      `Bearer  ${tokens[1]}`,
      `Token ${access.slice(0, -2)}`,
      `Bearer ${tokens[2]} ${tokens[3]}`,
      'null',
      `Bearer ${"' OR 1=1 --"}`,
      `Bearer {{7*7}}`,
    ];
  }

  function refusedMix(creds: Credentials): fc.Arbitrary<HostileRequest> {
    return fc.oneof(...OPERATIONS.map((operation) => fc.oneof(...refusedRequests(operation, creds))), unknownRoutes);
  }

  it(`≥${HTTP_REFUSED} malformed HTTP requests over every operation are refused in our error body, and the database is unchanged`, async () => {
    const start = http.failures.length;
    const before = await databaseChecksum(db);
    const requests = sample(SEED, HTTP_REFUSED, refusedMix(credentials));
    const operations = new Set(requests.map((request) => request.label.split(':')[0]));
    await inPool(requests, (request) => judge(http, request, true));
    expect(http.failuresSince(start)).toEqual([]);
    expect(http.total).toBeGreaterThanOrEqual(10_000);
    // Every operation of openapi.json was tried.
    expect(OPERATIONS.filter((operation) => !operations.has(`${operation.method} ${operation.path}`)).map((operation) => `${operation.method} ${operation.path}`)).toEqual([]);
    expect(await databaseChecksum(db)).toEqual(before);
  }, 600_000); // (a guard against a hang: 10,500 requests on a loaded 2-core machine)

  it('raw requests with broken framing or headers get our error body, also from the HTTP parser (400, 431)', async () => {
    const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
    const start = http.failures.length;
    const cases: [string, string | Buffer, number][] = [
      ['headers over the size limit', head(['GET /health HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20_000)}`]), 431],
      ['many headers', head(['GET /users/profile HTTP/1.1', 'Host: x', ...Array.from({ length: 2_000 }, (_, index) => `X-H${index}: ${'v'.repeat(10)}`)]), 431],
      ['a URL over the header size limit', head([`GET /users?name=${'n'.repeat(20_000)} HTTP/1.1`, 'Host: x']), 431],
      ['an Authorization header over the size limit', head(['GET /users/profile HTTP/1.1', 'Host: x', `Authorization: Bearer ${'t'.repeat(17_000)}`]), 431],
      ['garbage', 'GARBAGE\r\n\r\n', 400],
      ['binary', Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]), 400],
      ['HTTP/9.9', head(['GET /health HTTP/9.9', 'Host: x']), 400],
      ['a space in the path', head(['GET /users/a b HTTP/1.1', 'Host: x']), 400],
      ['a control character in the path', head(['GET /users/\u0001 HTTP/1.1', 'Host: x']), 400],
      ['a header without a colon', head(['GET /health HTTP/1.1', 'Host: x', 'NoColonHere']), 400],
      ['a header name with a space', head(['GET /health HTTP/1.1', 'Host: x', 'Bad Name: y']), 400],
      ['a NUL in a header value', head(['GET /health HTTP/1.1', 'Host: x', 'X-A: a\u0000b']), 400],
      ['a CR in a header value', head(['GET /health HTTP/1.1', 'Host: x', 'X-A: a\rb']), 400],
      ['Content-Length and Transfer-Encoding', head(['POST /users/tokens/issue HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: 4', 'Transfer-Encoding: chunked']) + '0\r\n\r\n', 400],
      ['two different Content-Lengths', head(['POST /users/tokens/issue HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 3']) + '{}', 400],
      ['a Content-Length that is no number', head(['POST /users/tokens/issue HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: abc']) + '{}', 400],
      ['a negative Content-Length', head(['POST /users/tokens/issue HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: -1']) + '{}', 400],
      ['broken chunked encoding', head(['POST /users/tokens/issue HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked']) + 'zz\r\n{}\r\n0\r\n\r\n', 400],
      ['an unknown Transfer-Encoding', head(['POST /users/tokens/issue HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: gzip, chunked, x']) + '0\r\n\r\n', 400],
      ['no Host', head(['GET /health HTTP/1.1']), 400],
      ['a bare LF line end', 'GET /health HTTP/1.1\nHost: x\n\n', 400],
      ['an invalid method', head(['G@T /health HTTP/1.1', 'Host: x']), 400],
      ['a Content-Length over the body limit', head(['POST /users HTTP/1.1', 'Host: x', 'Content-Type: application/json', `Content-Length: ${10 * BODY_LIMIT}`, 'Connection: close']) + '{"a":1}', 413],
      ['a body in a type we do not parse', head(['POST /users HTTP/1.1', 'Host: x', 'Content-Type: text/plain', 'Content-Length: 2', 'Connection: close']) + 'hi', 415],
      ['a UTF-8 Authorization', head(['GET /users/profile HTTP/1.1', 'Host: x', 'Connection: close', `Authorization: Bearer ${Buffer.from('тест🧑', 'utf8').toString('latin1')}`]), 401],
      ['an absolute-form target', head(['GET http://evil.example/users/profile HTTP/1.1', 'Host: x', 'Connection: close']), 401],
    ];
    for (const [label, bytes, status] of cases) {
      const answer = await sendRaw(base, bytes);
      const problems = problemsOf(answer, true);
      if (answer.status !== status) problems.push(`expected ${status}`);
      const code = status === 431 ? 'HEADERS_TOO_LARGE' : undefined;
      if (code && !answer.body.includes(`"code":"${code}"`)) problems.push(`expected code ${code}`);
      http.record(answer.status, `raw: ${label}`, problems);
    }
    expect(http.failuresSince(start)).toEqual([]);
  }, 120_000);

  it(`hostile but well-formed requests (${HTTP_FREE} and a few that hash), accepted or refused, never get a 5xx or a foreign body`, async () => {
    const start = http.failures.length;
    const requests = [...sample(SEED + 4, HTTP_FREE, fc.oneof(...freeRequests(credentials, victimId))), ...sample(SEED + 5, 40, fc.oneof(...hashingRequests()))];
    await inPool(requests, (request) => judge(http, request, false));
    expect(http.failuresSince(start)).toEqual([]);
  }, 600_000); // (a guard against a hang: 10,500 requests on a loaded 2-core machine)

  it(`≥${NATS_REQUESTS} malformed NATS API requests (${api('verify_token')}, ${api('get')}) each get an answer in our error shape`, async () => {
    const validators = asyncApiValidators();
    const requests = sample(SEED + 6, NATS_REQUESTS, natsRequests(credentials));
    await inPool(requests, async ({ subject, payload, label, valid }) => {
      let reply: Record<string, unknown>;
      try {
        const message = await nc.request(api(subject), payload, { timeout: 20_000 });
        reply = JSON.parse(Buffer.from(message.data).toString('utf8'));
      } catch (error) {
        nats.record('no answer', label, [(error as Error).message]);
        return;
      }
      const error = reply.error as Record<string, unknown> | undefined;
      const problems: string[] = [];
      const validate = validators.get(`users.${subject} reply`)!;
      if (!validate(reply)) problems.push(`not as asyncapi.yaml says: ${JSON.stringify(validate.errors?.slice(0, 2))}`);
      if (STACK_OR_PATH.test(JSON.stringify(reply))) problems.push('a stack trace, an internal path or an error class');
      if (error) problems.push(...errorShapeProblems({ ...error, error: '' }, error.statusCode as number));
      if (error && !((error.statusCode as number) >= 400 && (error.statusCode as number) < 500)) problems.push('not a 4xx');
      if (!valid && !error) problems.push('accepted');
      nats.record(error ? `${String(error.statusCode)} ${String(error.code)}` : 'ok', label, problems);
    });
    expect(nats.failures).toEqual([]);
    expect(nats.total).toBeGreaterThanOrEqual(1_000);
  }, 600_000); // (a guard against a hang: 10,500 requests on a loaded 2-core machine)

  it('after all of it the service is up, and its heap after a garbage collection is back at its baseline', async () => {
    await expectEventually(async () => expect((await send(base, { label: 'ready', method: 'GET', path: '/health/ready', headers: {} })).status).toBe(200));
    const after = await heapOf(app);
    process.stdout.write(`hostile requests: heap after GC ${mb(heapBaseline.heapUsed)} before, ${mb(after.heapUsed)} after; RSS ${mb(heapBaseline.rss)} → ${mb(after.rss)}\n`);
    expect(after.heapUsed).toBeLessThan(heapBaseline.heapUsed + HEAP_MARGIN_BYTES);
    expect(app.output()).not.toContain('"msg":"unhandled error"');
  }, 60_000);
});

/** A fixed sample of an arbitrary (fast-check, seeded). */
function sample<T>(seed: number, count: number, arbitrary: fc.Arbitrary<T>): T[] {
  return fc.sample(arbitrary, { seed, numRuns: count });
}

/** NATS API requests, nearly all malformed; `valid` ones may be answered with a result. */
function natsRequests(credentials: Credentials): fc.Arbitrary<{ subject: 'verify_token' | 'get'; payload: Uint8Array; label: string; valid: boolean }> {
  const encode = (value: Json) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  const field = (subject: 'verify_token' | 'get') => (subject === 'verify_token' ? 'token' : 'id');
  const subject = fc.constantFrom<'verify_token' | 'get'>('verify_token', 'get');
  const malformed = (name: string) => fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 200 }).map((bytes) => ({ what: 'random bytes', bytes: Buffer.from(bytes) })),
    fc.constantFrom('', 'not json', '{', '{"token":', "{'token':'x'}", '\u00ff\u00fe', '{"token":"x"}garbage', 'NaN', '{"__proto__":{"isAdmin":true}}').map((text) => ({ what: 'not JSON', bytes: encode(text) })),
    fc.constantFrom<Json>([], 1, 'text', null, true, {}, [{}], { token: 1, id: 1 }).map((value) => ({ what: 'not an object', bytes: encode(JSON.stringify(value)) })),
    fc.integer({ min: JSON_MAX_DEPTH + 1, max: 20_000 }).map((depth) => ({ what: 'deeply nested', bytes: encode(`{"${name}":${'[{"a":'.repeat(depth)}"x"${'}]'.repeat(depth)}}`) })),
    fc.integer({ min: 5_000, max: 900_000 }).map((size) => ({ what: 'huge', bytes: encode({ [name]: 't'.repeat(size) }) })),
  );
  const wrongField = (name: string) =>
    fc.oneof(
      wrongType({ type: 'string' }, true).map((value) => ({ what: 'wrong type', value })),
      brokenString.map((value) => ({ what: 'NUL or lone surrogate', value })),
      fc.constantFrom(...BAD_UUIDS, ...INJECTIONS).map((value) => ({ what: 'bad value', value })),
      fc.constantFrom(...credentials.forged).map((forged) => ({ what: 'forged token', value: forged.replace(/^\S+\s?/, '') })),
      fc.uuid().map((value) => ({ what: 'unknown id', value })),
    ).map(({ what, value }) => ({ what, value: { [name]: value } }));
  return fc.oneof(
    { arbitrary: subject.chain((s) => malformed(field(s)).map((payload) => ({ subject: s, payload: payload.bytes, label: `${s}: ${payload.what}`, valid: false }))), weight: 4 },
    {
      arbitrary: subject.chain((s) => wrongField(field(s)).map((mutation) => ({ subject: s, mutation }))).map(({ subject: s, mutation }) => ({
        subject: s,
        payload: encode(mutation.value),
        label: `${s}: ${mutation.what}`,
        // A well-formed id of nobody (or of a user) is answered with 404 or the user; a forged token never verifies.
        valid: s === 'get' && mutation.what === 'unknown id',
      })),
      weight: 4,
    },
    {
      arbitrary: fc.tuple(subject, fc.constantFrom('zz_extra', '$where', 'id', 'token', 'pattern')).map(([s, key]) => ({
        subject: s,
        payload: encode({ [field(s)]: s === 'get' ? credentials.userId : credentials.user, [key === field(s) ? 'zz' : key]: 1 }),
        label: `${s}: extra field`,
        valid: false,
      })),
      weight: 1,
    },
    {
      arbitrary: subject.map((s) => ({ subject: s, payload: encode({ pattern: s, data: { [field(s)]: 42 }, id: 'x' }), label: `${s}: Nest envelope, wrong type`, valid: false })),
      weight: 1,
    },
    {
      arbitrary: subject.map((s) => ({ subject: s, payload: encode({ [field(s)]: s === 'get' ? credentials.userId : credentials.user }), label: `${s}: well-formed`, valid: true })),
      weight: 1,
    },
  );
}
