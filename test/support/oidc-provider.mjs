// A real OpenID Connect provider on loopback for the tests (panva's oidc-provider, ESM, hence its own
// process): authorization code flow with PKCE required, its development login page (any login name,
// no password check), consent granted automatically. Each account's claims are set over HTTP:
//   PUT /__accounts/<login>  {"email": "...", "email_verified": true, "name": "..."}
// An unknown login gets "<login>@idp.test", verified. An outage of the userinfo endpoint (/me) is set
// the same way: PUT /__userinfo {"status": 503} makes it answer that status, {"status": 0} restores it.
// Prints {"issuer": "..."} on stdout once ready.
// Env: CLIENTS (JSON array of {client_id, client_secret, redirect_uris}), PORT (0: any free port).
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.CLIENTS ?? '[]');
const accounts = new Map();
let userinfoStatus = 0;

const server = createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clients.map((client) => ({ grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post', ...client })),
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username', 'picture'] },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['users-service-tests'] },
  async findAccount(_ctx, id) {
    const claims = accounts.get(id) ?? { email: `${id}@idp.test`, email_verified: true, name: id };
    return { accountId: id, claims: async () => ({ sub: id, preferred_username: id, ...claims }) };
  },
  // The tests sign in; they do not click through a consent screen.
  async loadExistingGrant(ctx) {
    const existing = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

const callback = provider.callback();
/** A test's PUT: its JSON body handed to `apply`, answered 204. */
function setting(req, res, apply) {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    apply(JSON.parse(body));
    res.writeHead(204).end();
  });
}
server.on('request', (req, res) => {
  const account = /^\/__accounts\/([^/]+)$/.exec(req.url ?? '');
  if (req.method === 'PUT' && account) return setting(req, res, (claims) => accounts.set(decodeURIComponent(account[1]), claims));
  if (req.method === 'PUT' && req.url === '/__userinfo') return setting(req, res, ({ status }) => (userinfoStatus = status));
  if (userinfoStatus && req.url?.startsWith('/me')) return res.writeHead(userinfoStatus, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
  callback(req, res);
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
