/**
 * SuperMQ's Go SDK, transcribed request by request (absmach/supermq `pkg/sdk`: users.go, tokens.go,
 * requests.go, `processRequest` and `PageMetadata.query` in sdk.go; and the older `pkg/sdk/go/` of
 * Magistrala's era, whose paths and bodies are the same but whose structs differ), with Go's
 * encoding/json rules for what goes on the wire (field order, `omitempty`, zero `time.Time`) and for
 * what comes back (a JSON value of the wrong type for a struct field is an error; unknown fields and
 * `null` are ignored). Nothing here knows our service: it sends what the SDK sends, over real HTTP.
 */

/** A Go field type, as far as encoding/json cares. */
type GoType = 'string' | 'time' | 'uint64' | 'strings' | 'map' | GoStruct;
/** A Go struct: its fields in declaration order, with their `json:"name,omitempty"` tags. */
export type GoStruct = { name: string; fields: [json: string, type: GoType, omitempty: boolean][] };

const ZERO_TIME = '0001-01-01T00:00:00Z';

const credentials: GoStruct = {
  name: 'Credentials',
  fields: [
    ['username', 'string', true],
    ['secret', 'string', true],
  ],
};

type GoField = GoStruct['fields'][number];

/** The User struct of `pkg/sdk`; the older `pkg/sdk/go` has `username` after `id` and neither `private_metadata` nor `auth_provider`. */
const USER_FIELDS: GoField[] = [
  ['id', 'string', false],
  ['first_name', 'string', true],
  ['last_name', 'string', true],
  ['email', 'string', true],
  ['credentials', credentials, false],
  ['tags', 'strings', true],
  ['metadata', 'map', true],
  ['private_metadata', 'map', true],
  ['created_at', 'time', true],
  ['updated_at', 'time', true],
  ['status', 'string', true],
  ['role', 'string', true],
  ['profile_picture', 'string', true],
  ['auth_provider', 'string', true],
];
const OLDER_USER_FIELDS: GoField[] = USER_FIELDS.filter(([json]) => json !== 'private_metadata' && json !== 'auth_provider');
OLDER_USER_FIELDS.splice(1, 0, ['username', 'string', true]);

/** The two generations of the SDK's structs. */
export const GENERATIONS = {
  /** `pkg/sdk` (SuperMQ today): logs in with `{username, password}`. */
  current: {
    name: 'SuperMQ pkg/sdk',
    user: { name: 'User', fields: USER_FIELDS } as GoStruct,
    login: {
      name: 'Login',
      fields: [
        ['username', 'string', false],
        ['password', 'string', false],
      ],
    } as GoStruct,
    loginOf: (identity: string, secret: string) => ({ username: identity, password: secret }),
    hasVerification: true,
  },
  /** `pkg/sdk/go` (Magistrala's era, seed 001): logs in with `{identity, secret}`; its User has `username`. */
  older: {
    name: 'pkg/sdk/go (Magistrala era)',
    user: { name: 'User', fields: OLDER_USER_FIELDS } as GoStruct,
    login: {
      name: 'Login',
      fields: [
        ['identity', 'string', false],
        ['user_name', 'string', true],
        ['secret', 'string', false],
      ],
    } as GoStruct,
    loginOf: (identity: string, secret: string) => ({ identity, secret }),
    hasVerification: false,
  },
} as const;
export type Generation = (typeof GENERATIONS)[keyof typeof GENERATIONS];

export const TOKEN: GoStruct = {
  name: 'Token',
  fields: [
    ['access_token', 'string', true],
    ['refresh_token', 'string', true],
    ['access_type', 'string', true],
  ],
};

/** UsersPage's PageRes; its `users` ([]User) is decoded element by element. */
const PAGE_RES: GoStruct = {
  name: 'UsersPage',
  fields: [
    ['total', 'uint64', false],
    ['offset', 'uint64', false],
    ['limit', 'uint64', false],
  ],
};

type GoValue = Record<string, unknown>;

function isZero(type: GoType, value: unknown): boolean {
  if (typeof type === 'object') return false; // omitempty never drops a struct
  if (type === 'time') return false; // nor a time.Time: it travels as 0001-01-01T00:00:00Z
  if (type === 'strings' || type === 'map') return value === undefined || value === null || (Array.isArray(value) && value.length === 0) || (type === 'map' && Object.keys(value as object).length === 0);
  if (type === 'uint64') return value === undefined || value === 0;
  return value === undefined || value === '';
}

/** json.Marshal of a Go struct value (missing fields are Go's zero values). */
export function goMarshal(struct: GoStruct, value: GoValue = {}): string {
  return JSON.stringify(marshalValue(struct, value));
}

function marshalValue(struct: GoStruct, value: GoValue): GoValue {
  const out: GoValue = {};
  for (const [json, type, omitempty] of struct.fields) {
    const field = value[json];
    if (omitempty && isZero(type, field)) continue;
    if (typeof type === 'object') out[json] = marshalValue(type, (field as GoValue) ?? {});
    else if (type === 'time') out[json] = field ?? ZERO_TIME;
    else if (type === 'strings' || type === 'map') out[json] = field ?? null;
    else out[json] = field ?? (type === 'uint64' ? 0 : '');
  }
  return out;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** json.Unmarshal into a Go struct: throws where Go would ("cannot unmarshal … into Go struct field …"). */
export function goUnmarshal(struct: GoStruct, json: unknown, path = struct.name): GoValue {
  if (json === null) return {};
  if (typeof json !== 'object' || Array.isArray(json)) throw new Error(`json: cannot unmarshal ${typeof json} into Go value of type ${path}`);
  const source = json as GoValue;
  const out: GoValue = {};
  for (const [name, type] of struct.fields) {
    const value = source[name];
    if (value === undefined || value === null) continue;
    const where = `${path}.${name}`;
    const fail = () => {
      throw new Error(`json: cannot unmarshal ${JSON.stringify(value)} into Go struct field ${where} of type ${typeof type === 'object' ? type.name : type}`);
    };
    if (typeof type === 'object') out[name] = goUnmarshal(type, value, where);
    else if (type === 'string') out[name] = typeof value === 'string' ? value : fail();
    else if (type === 'time') out[name] = typeof value === 'string' && RFC3339.test(value) ? value : fail();
    else if (type === 'uint64') out[name] = Number.isInteger(value) && (value as number) >= 0 ? value : fail();
    else if (type === 'strings') out[name] = Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : fail();
    else out[name] = typeof value === 'object' && !Array.isArray(value) ? value : fail();
  }
  return out;
}

/** What `errors.CheckError` makes of an unexpected status: the `error` string of the body. */
export class SdkError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** PageMetadata's fields that the user calls use; `query()` always adds with_attributes and with_metadata. */
export interface PageMetadata {
  offset?: number;
  limit?: number;
  order?: string;
  direction?: string;
  email?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
  name?: string;
  id?: string;
  status?: string;
  metadata?: Record<string, unknown>;
  tag?: string;
}

/** `PageMetadata.query()`: non-zero fields only, then url.Values.Encode (keys sorted, spaces as `+`). */
export function pageQuery(pm: PageMetadata): string {
  const values: [string, string][] = [];
  if (pm.offset) values.push(['offset', String(pm.offset)]);
  if (pm.limit) values.push(['limit', String(pm.limit)]);
  if (pm.order) values.push(['order', pm.order]);
  if (pm.direction) values.push(['dir', pm.direction]);
  for (const key of ['email', 'username', 'first_name', 'last_name', 'name', 'id', 'status'] as const) if (pm[key]) values.push([key, pm[key]!]);
  if (pm.metadata) values.push(['metadata', JSON.stringify(pm.metadata)]);
  if (pm.tag) values.push(['tag', pm.tag]);
  values.push(['with_attributes', 'false'], ['with_metadata', 'false']);
  values.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new URLSearchParams(values).toString();
}

export interface SentRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * The SDK's calls. Each builds the request its Go counterpart builds and goes through `processRequest`:
 * `Content-Type: application/json` always (with or without a body), `Authorization: Bearer <token>`
 * when a token is given, and the statuses the Go code accepts.
 */
export class GoSdk {
  /** Every request sent, for assertions on the wire format. */
  readonly sent: SentRequest[] = [];

  constructor(
    private readonly usersUrl: string,
    readonly generation: Generation,
    /** `Config.HostURL`, sent as Referer by ResetPasswordRequest. */
    private readonly hostUrl = 'http://localhost:9095',
  ) {}

  private async processRequest(method: string, path: string, token: string, data: string | undefined, headers: Record<string, string>, ...expected: number[]): Promise<unknown> {
    const all: Record<string, string> = { 'Content-Type': 'application/json', ...headers, 'User-Agent': 'Go-http-client/1.1', 'Accept-Encoding': 'gzip' };
    if (token) all.Authorization = `Bearer ${token}`;
    this.sent.push({ method, path, headers: all, body: data });
    const response = await fetch(`${this.usersUrl}${path}`, { method, headers: all, body: data ?? (['POST', 'PUT', 'PATCH'].includes(method) ? '' : undefined) });
    const text = await response.text();
    if (!expected.includes(response.status)) {
      // errors.CheckError: decodes the body as a JSON object and reports its `error` string.
      const content = JSON.parse(text) as Record<string, unknown>;
      if (typeof content.error !== 'string') throw new SdkError(response.status, 'unexpected error JSON key');
      throw new SdkError(response.status, content.error);
    }
    return text === '' ? undefined : JSON.parse(text);
  }

  private user(json: unknown) {
    return goUnmarshal(this.generation.user, json);
  }

  private usersPage(json: unknown) {
    const page = goUnmarshal(PAGE_RES, json);
    const users = (json as { users?: unknown }).users;
    if (users !== null && users !== undefined && !Array.isArray(users)) throw new Error('json: cannot unmarshal into Go struct field UsersPage.users of type []User');
    return { ...page, users: ((users as unknown[] | null) ?? []).map((u, i) => goUnmarshal(this.generation.user, u, `UsersPage.users[${i}]`)) };
  }

  async createUser(user: GoValue, token = '') {
    return this.user(await this.processRequest('POST', '/users', token, goMarshal(this.generation.user, user), {}, 201));
  }

  async sendVerification(token: string) {
    await this.processRequest('POST', '/users/send-verification', token, undefined, {}, 200);
  }

  async verifyEmail(verificationToken: string) {
    await this.processRequest('GET', `/verify-email?token=${verificationToken}`, '', undefined, {}, 200);
  }

  async users(pm: PageMetadata, token: string) {
    return this.usersPage(await this.processRequest('GET', `/users?${pageQuery(pm)}`, token, undefined, {}, 200));
  }

  async searchUsers(pm: PageMetadata, token: string) {
    return this.usersPage(await this.processRequest('GET', `/users/search?${pageQuery(pm)}`, token, undefined, {}, 200));
  }

  async getUser(id: string, token: string) {
    return this.user(await this.processRequest('GET', `/users/${id}`, token, undefined, {}, 200));
  }

  async userProfile(token: string) {
    return this.user(await this.processRequest('GET', '/users/profile', token, undefined, {}, 200));
  }

  /** UpdateUser, UpdateUserTags, UpdateProfilePicture and UpdateUserRole marshal the whole User. */
  async updateUser(user: GoValue, token: string, route: '' | '/tags' | '/picture' | '/role' = '') {
    return this.user(await this.processRequest('PATCH', `/users/${user.id as string}${route}`, token, goMarshal(this.generation.user, user), {}, 200));
  }

  async updateUserEmail(user: GoValue, token: string) {
    const body = user.email ? JSON.stringify({ email: user.email }) : '{}'; // updateUserEmailReq: email,omitempty
    return this.user(await this.processRequest('PATCH', `/users/${user.id as string}/email`, token, body, {}, 200));
  }

  async updateUsername(user: GoValue, token: string) {
    const username = (user.credentials as GoValue | undefined)?.username ?? '';
    return this.user(await this.processRequest('PATCH', `/users/${user.id as string}/username`, token, JSON.stringify({ username }), {}, 200));
  }

  async updatePassword(oldPass: string, newPass: string, token: string) {
    const body: GoValue = {}; // updateUserSecretReq: both omitempty
    if (oldPass) body.old_secret = oldPass;
    if (newPass) body.new_secret = newPass;
    return this.user(await this.processRequest('PATCH', '/users/secret', token, JSON.stringify(body), {}, 200));
  }

  async resetPasswordRequest(email: string) {
    // resetPasswordRequestreq{Email, Host}: Host is never set by the SDK, and not omitempty.
    await this.processRequest('POST', '/password/reset-request', '', JSON.stringify({ email, host: '' }), { Referer: this.hostUrl }, 201);
  }

  async resetPassword(password: string, confPass: string, token: string) {
    await this.processRequest('PUT', '/password/reset', token, JSON.stringify({ token, password, confirm_password: confPass }), {}, 201);
  }

  async enableUser(id: string, token: string) {
    return this.user(await this.processRequest('POST', `/users/${id}/enable`, token, undefined, {}, 200));
  }

  async disableUser(id: string, token: string) {
    return this.user(await this.processRequest('POST', `/users/${id}/disable`, token, undefined, {}, 200));
  }

  async deleteUser(id: string, token: string) {
    await this.processRequest('DELETE', `/users/${id}`, token, undefined, {}, 204);
  }

  async createToken(identity: string, secret: string) {
    return this.createTokenFrom(this.generation.loginOf(identity, secret));
  }

  /** CreateToken with a Login struct filled by the caller (the older SDK's has `user_name` too). */
  async createTokenFrom(login: GoValue) {
    return goUnmarshal(TOKEN, await this.processRequest('POST', '/users/tokens/issue', '', goMarshal(this.generation.login, login), {}, 201));
  }

  async refreshToken(refreshToken: string) {
    return goUnmarshal(TOKEN, await this.processRequest('POST', '/users/tokens/refresh', refreshToken, undefined, {}, 201));
  }
}
