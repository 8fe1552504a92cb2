'use strict';
/**
 * Baseline (b): the work of GET /users/profile with no framework, as a floor for the app's cost.
 *   read "Authorization: Bearer <jwt>" -> verify the signature with node:crypto (JWT_ALGORITHM: HS256
 *   with createHmac + timingSafeEqual, EdDSA or ES256 with crypto.verify and the public key), check
 *   alg, exp and type -> one primary-key SELECT of the user row through a pg Pool (unnamed
 *   parameterised query, like TypeORM) -> check the account is usable -> JSON response.
 * Env: PORT (0 = ephemeral), JWT_ALGORITHM (default HS256), SECRET_KEY (HS256) or PUBLIC_KEY_FILE (PEM,
 * EdDSA/ES256), PGHOST/PGPORT/PGUSER/PGDATABASE, POOL_SIZE (default 10, TypeORM's default). Reports
 * {ready, port} over IPC; exits when the parent goes away.
 */
const fs = require('node:fs');
const http = require('node:http');
const crypto = require('node:crypto');
const { Pool } = require('pg');

const ALGORITHM = process.env.JWT_ALGORITHM || 'HS256';

/** Whether `signature` signs `input` (the JWT's first two parts) under the configured algorithm. */
const signatureValid = (() => {
  if (ALGORITHM === 'HS256') {
    if (!process.env.SECRET_KEY) throw new Error('SECRET_KEY is required for HS256');
    const key = Buffer.from(process.env.SECRET_KEY, 'utf8');
    return (input, signature) => {
      const expected = crypto.createHmac('sha256', key).update(input).digest();
      return signature.length === expected.length && crypto.timingSafeEqual(signature, expected);
    };
  }
  if (!process.env.PUBLIC_KEY_FILE) throw new Error(`PUBLIC_KEY_FILE is required for ${ALGORITHM}`);
  const key = crypto.createPublicKey(fs.readFileSync(process.env.PUBLIC_KEY_FILE));
  if (ALGORITHM === 'EdDSA') return (input, signature) => crypto.verify(null, Buffer.from(input), key, signature);
  if (ALGORITHM === 'ES256') return (input, signature) => crypto.verify('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, signature);
  throw new Error(`JWT_ALGORITHM ${ALGORITHM}: use HS256, EdDSA or ES256`);
})();

const pool = new Pool({
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || 'postgres',
  password: process.env.PGPASSWORD || '',
  database: process.env.PGDATABASE,
  max: Number(process.env.POOL_SIZE || 10),
});

// The columns a profile answer needs (no password hash, no private metadata).
const PROFILE_SQL = `SELECT id, first_name, last_name, email, username, tags, metadata, profile_picture, role,
       status, auth_provider, user_type, verified_at, tokens_revoked_at, created_at, updated_at
  FROM users WHERE id = $1`;

/** Returns the claims of a valid access token, or null. */
function verifyAccessToken(header) {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return null;
  const token = header.slice(7);
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot1 <= 0 || dot2 <= dot1 || token.indexOf('.', dot2 + 1) !== -1) return null;
  if (!signatureValid(token.slice(0, dot2), Buffer.from(token.slice(dot2 + 1), 'base64url'))) return null;
  try {
    const head = JSON.parse(Buffer.from(token.slice(0, dot1), 'base64url').toString('utf8'));
    const claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8'));
    if (head.alg !== ALGORITHM) return null;
    if (typeof claims.exp !== 'number' || claims.exp <= Math.floor(Date.now() / 1000)) return null;
    if (claims.type !== 'access' || typeof claims.sub !== 'string') return null;
    return claims;
  } catch {
    return null;
  }
}

function send(res, status, payload) {
  const body = Buffer.from(JSON.stringify(payload));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
}

const UNAUTHORIZED = { code: 'unauthorized', message: 'Invalid or expired access token' };

async function profile(req, res) {
  const claims = verifyAccessToken(req.headers.authorization);
  if (!claims) return send(res, 401, UNAUTHORIZED);
  const { rows } = await pool.query(PROFILE_SQL, [claims.sub]);
  const user = rows[0];
  if (
    !user ||
    user.status !== 'enabled' ||
    (user.tokens_revoked_at && claims.iat * 1000 < user.tokens_revoked_at.getTime())
  ) {
    return send(res, 401, UNAUTHORIZED);
  }
  send(res, 200, {
    id: user.id,
    first_name: user.first_name,
    last_name: user.last_name,
    email: user.email,
    username: user.username,
    tags: user.tags,
    metadata: user.metadata,
    profile_picture: user.profile_picture,
    role: user.role,
    status: user.status,
    auth_provider: user.auth_provider,
    user_type: user.user_type,
    verified: user.verified_at !== null,
    verified_at: user.verified_at,
    created_at: user.created_at,
    updated_at: user.updated_at,
  });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/users/profile') {
    profile(req, res).catch((err) => send(res, 500, { code: 'internal', message: err.message }));
  } else {
    send(res, 404, { code: 'not_found', message: 'Not found' });
  }
});
server.keepAliveTimeout = 65000;

// Open the pool's connections before reporting ready, so the first second of load is not spent connecting.
Promise.all(Array.from({ length: pool.options.max }, () => pool.connect()))
  .then((clients) => clients.forEach((c) => c.release()))
  .then(() => {
    server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
      if (process.send) process.send({ ready: true, port: server.address().port });
      else console.log(`listening on ${server.address().port}`);
    });
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
