import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface OidcClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

export interface AccountClaims {
  email?: string;
  email_verified?: boolean;
  name?: string;
  preferred_username?: string;
}

/** The real OpenID Connect provider of test/support/oidc-provider.mjs, in a child process. */
export class OidcProvider {
  issuer = '';
  private child?: ChildProcess;

  async start(clients: OidcClient[]): Promise<this> {
    const child = spawn(process.execPath, [join(__dirname, 'oidc-provider.mjs')], { env: { ...process.env, CLIENTS: JSON.stringify(clients) }, stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the OIDC provider exited with ${code}`)));
    });
    this.issuer = (JSON.parse(line) as { issuer: string }).issuer;
    return this;
  }

  async setAccount(login: string, claims: AccountClaims): Promise<void> {
    const response = await fetch(`${this.issuer}/__accounts/${encodeURIComponent(login)}`, { method: 'PUT', body: JSON.stringify(claims) });
    if (response.status !== 204) throw new Error(`setting the account answered ${response.status}`);
  }

  /** Makes the userinfo endpoint answer `status` (an outage), or work again with 0. */
  async setUserinfoStatus(status: number): Promise<void> {
    const response = await fetch(`${this.issuer}/__userinfo`, { method: 'PUT', body: JSON.stringify({ status }) });
    if (response.status !== 204) throw new Error(`setting the userinfo outage answered ${response.status}`);
  }

  /**
   * Signs in at the provider as `login` through its login page, as a browser would (its cookies,
   * its form), starting from our authorize redirect; answers where the provider sends the browser
   * back (our callback, with code and state).
   */
  async signIn(authorizationUrl: string, login: string): Promise<URL> {
    const jar = new Map<string, string>();
    const request = async (url: string, init: RequestInit = {}) => {
      const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const cookie of response.headers.getSetCookie()) {
        const [pair] = cookie.split(';');
        const [name, ...value] = pair.split('=');
        jar.set(name.trim(), value.join('='));
      }
      return response;
    };
    let location = authorizationUrl;
    for (let hop = 0; hop < 10; hop++) {
      const url = new URL(location, this.issuer);
      if (url.origin !== this.issuer) return url;
      const response = url.pathname.startsWith('/interaction/')
        ? await request(url.toString(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ prompt: 'login', login, password: 'any' }).toString() })
        : await request(url.toString());
      const next = response.headers.get('location');
      if (!next) throw new Error(`the provider answered ${response.status} at ${url.pathname}: ${(await response.text()).slice(0, 300)}`);
      location = next;
    }
    throw new Error('too many redirects at the provider');
  }

  stop(): void {
    this.child?.kill('SIGTERM');
  }
}

export interface GithubAccount {
  id: number;
  login: string;
  name: string | null;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

/**
 * A provider's side of an authorization-code sign-in, on loopback (the real ones are out of reach): its
 * authorize and token endpoints (client secret and PKCE checked) and its REST API (`api`). The
 * authorize endpoint approves at once, for `account`.
 */
abstract class AuthorizationCodeDouble<Account> {
  abstract account: Account;
  /** While set, the REST API answers 503, as the provider in an outage. */
  apiDown = false;
  private server?: Server;
  private readonly codes = new Map<string, { challenge: string; redirectUri: string; account: Account }>();
  private readonly tokens = new Map<string, Account>();
  url = '';

  constructor(
    private readonly client: { id: string; secret: string },
    private readonly paths: { authorize: string; token: string },
  ) {}

  /** The REST API's answer (status and JSON body) to `path`, for the account of the bearer token. */
  protected abstract api(path: string, account: Account): [number, unknown];

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', this.url);
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === this.paths.authorize) {
      const q = url.searchParams;
      if (q.get('client_id') !== this.client.id || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return json(400, { error: 'bad authorize request' });
      const code = randomBytes(8).toString('hex');
      this.codes.set(code, { challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')!, account: this.account });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      return res.writeHead(302, { location: back.toString() }).end();
    }
    if (url.pathname === this.paths.token && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const grant = this.codes.get(form.get('code') ?? '');
      this.codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (form.get('client_id') !== this.client.id || form.get('client_secret') !== this.client.secret || !grant || grant.challenge !== challenge) {
        return json(200, { error: 'bad_verification_code' });
      }
      const token = randomBytes(16).toString('hex');
      this.tokens.set(token, grant.account);
      return json(200, { access_token: token, token_type: 'bearer' });
    }
    if (this.apiDown) return json(503, { message: 'Service Unavailable' });
    const account = this.tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!account) return json(401, { message: 'Bad credentials' });
    return json(...this.api(url.pathname, account));
  }
}

/** GitHub: /login/oauth/*, and the REST API's /user and /user/emails. */
export class GithubDouble extends AuthorizationCodeDouble<GithubAccount> {
  account: GithubAccount = { id: 1, login: 'octocat', name: 'The Octocat', emails: [] };

  constructor(client: { id: string; secret: string }) {
    super(client, { authorize: '/login/oauth/authorize', token: '/login/oauth/access_token' });
  }

  protected api(path: string, account: GithubAccount): [number, unknown] {
    if (path === '/user') return [200, { id: account.id, login: account.login, name: account.name, avatar_url: null }];
    if (path === '/user/emails') return [200, account.emails];
    return [404, { message: 'Not Found' }];
  }
}

export interface GitlabAccount {
  id: number;
  username: string;
  name: string;
  email: string;
}

/** GitLab (gitlab.com or self-hosted): /oauth/*, and the API's /api/v4/user. */
export class GitlabDouble extends AuthorizationCodeDouble<GitlabAccount> {
  account: GitlabAccount = { id: 1, username: 'tanuki', name: 'The Tanuki', email: 'tanuki@gitlab.test' };

  constructor(client: { id: string; secret: string }) {
    super(client, { authorize: '/oauth/authorize', token: '/oauth/token' });
  }

  protected api(path: string, account: GitlabAccount): [number, unknown] {
    if (path === '/api/v4/user') return [200, { ...account, avatar_url: null, state: 'active' }];
    return [404, { message: '404 Not Found' }];
  }
}

export interface BitbucketAccount {
  uuid: string;
  username: string;
  display_name: string;
  emails: { email: string; is_primary: boolean; is_confirmed: boolean }[];
}

/** Bitbucket Cloud: /site/oauth2/*, and the REST API's /user and /user/emails (here on the same origin). */
export class BitbucketDouble extends AuthorizationCodeDouble<BitbucketAccount> {
  account: BitbucketAccount = { uuid: '{00000000-0000-4000-8000-000000000001}', username: 'bucket', display_name: 'A Bucket', emails: [] };

  constructor(client: { id: string; secret: string }) {
    super(client, { authorize: '/site/oauth2/authorize', token: '/site/oauth2/access_token' });
  }

  protected api(path: string, account: BitbucketAccount): [number, unknown] {
    if (path === '/user') return [200, { uuid: account.uuid, username: account.username, display_name: account.display_name, links: { avatar: { href: 'https://bitbucket.test/avatar.png' } } }];
    if (path === '/user/emails') return [200, { values: account.emails }];
    return [404, { type: 'error' }];
  }
}
