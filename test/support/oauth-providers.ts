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
 * GitHub's side of a sign-in, on loopback (GitHub itself is out of reach): its authorize and
 * access_token endpoints (client secret and PKCE checked) and the REST API's /user and /user/emails.
 * The authorize endpoint approves at once, for `account`.
 */
export class GithubDouble {
  account: GithubAccount = { id: 1, login: 'octocat', name: 'The Octocat', emails: [] };
  /** While set, the REST API (/user, /user/emails) answers 503, as GitHub in an outage. */
  apiDown = false;
  private server?: Server;
  private readonly codes = new Map<string, { challenge: string; redirectUri: string; account: GithubAccount }>();
  private readonly tokens = new Map<string, GithubAccount>();
  url = '';

  constructor(private readonly client: { id: string; secret: string }) {}

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
    if (url.pathname === '/login/oauth/authorize') {
      const q = url.searchParams;
      if (q.get('client_id') !== this.client.id || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return json(400, { error: 'bad authorize request' });
      const code = randomBytes(8).toString('hex');
      this.codes.set(code, { challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')!, account: this.account });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      return res.writeHead(302, { location: back.toString() }).end();
    }
    if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
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
      return json(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    if (this.apiDown) return json(503, { message: 'Service Unavailable' });
    const account = this.tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!account) return json(401, { message: 'Bad credentials' });
    if (url.pathname === '/user') return json(200, { id: account.id, login: account.login, name: account.name, avatar_url: null });
    if (url.pathname === '/user/emails') return json(200, account.emails);
    return json(404, { message: 'Not Found' });
  }
}
