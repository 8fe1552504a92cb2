import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventsConfig } from './events.config';
import { namespaceUnderEnv } from '../../test/support/config-namespace';

const { configWith, problemsWith } = namespaceUnderEnv(eventsConfig);

describe('eventsConfig: NATS credentials, TLS, API prefix and queue group (#8 finding 4)', () => {
  it('defaults: no credentials, the users.* API in the users queue group, private_metadata left out', () => {
    expect(configWith({})).toMatchObject({ servers: ['nats://localhost:4222'], auth: { kind: 'none' }, tls: undefined, apiPrefix: 'users', queueGroup: 'users', includePrivate: false, replicas: 1 });
  });

  it('takes the stream replicas a JetStream cluster can keep: 1 to 5', () => {
    expect(configWith({ USERS_ES_REPLICAS: '3' }).replicas).toBe(3);
    expect(problemsWith({ USERS_ES_REPLICAS: '0' })).toEqual(['USERS_ES_REPLICAS must be a whole number from 1 to 5 (got "0")']);
    expect(problemsWith({ USERS_ES_REPLICAS: 'three' })).toEqual(['USERS_ES_REPLICAS must be a whole number from 1 to 5 (got "three")']);
  });

  it('takes the relay poll interval as a duration, 1 s by default, and refuses none or zero', () => {
    expect(configWith({}).pollIntervalMs).toBe(1000);
    expect(configWith({ USERS_ES_RELAY_POLL_INTERVAL: '60s' }).pollIntervalMs).toBe(60_000);
    expect(configWith({ USERS_ES_RELAY_POLL_INTERVAL: '250ms' }).pollIntervalMs).toBe(250);
    expect(problemsWith({ USERS_ES_RELAY_POLL_INTERVAL: '0s' })).toEqual(['USERS_ES_RELAY_POLL_INTERVAL must be more than zero (got "0s")']);
    expect(problemsWith({ USERS_ES_RELAY_POLL_INTERVAL: '1000' })).toEqual([expect.stringContaining('USERS_ES_RELAY_POLL_INTERVAL must be a duration')]);
  });

  it('takes credentials from the URL (which the NATS client would ignore) and strips them from the server list', () => {
    expect(configWith({ USERS_ES_URL: 'nats://svc:p%40ss@nats-1:4222,nats://nats-2:4222' })).toMatchObject({
      servers: ['nats://nats-1:4222', 'nats://nats-2:4222'],
      auth: { kind: 'user', user: 'svc', pass: 'p@ss' },
    });
    expect(configWith({ USERS_ES_URL: 'tls://s3cr3t-token@nats:4222' })).toMatchObject({ servers: ['tls://nats:4222'], auth: { kind: 'token', token: 's3cr3t-token' } });
  });

  it('takes one explicit way to authenticate, TLS files, a prefix, a queue group and the private switch', () => {
    const dir = mkdtempSync(join(tmpdir(), 'users-nats-config-'));
    try {
      const file = join(dir, 'file.pem');
      writeFileSync(file, 'x');
      expect(configWith({ USERS_ES_USER: 'svc', USERS_ES_PASSWORD: 'pw' }).auth).toEqual({ kind: 'user', user: 'svc', pass: 'pw' });
      expect(configWith({ USERS_ES_TOKEN: 't' }).auth).toEqual({ kind: 'token', token: 't' });
      expect(configWith({ USERS_ES_NKEY_SEED_FILE: file }).auth).toEqual({ kind: 'nkey', seedFile: file });
      expect(configWith({ USERS_ES_CREDS_FILE: file }).auth).toEqual({ kind: 'creds', credsFile: file });
      expect(configWith({ USERS_ES_TLS_CA_FILE: file, USERS_ES_TLS_CERT_FILE: file, USERS_ES_TLS_KEY_FILE: file }).tls).toEqual({ caFile: file, certFile: file, keyFile: file });
      expect(configWith({ USERS_ES_API_PREFIX: 'tenant1.users', USERS_ES_QUEUE_GROUP: 'tenant1-users', USERS_EVENTS_INCLUDE_PRIVATE: 'true' })).toMatchObject({
        apiPrefix: 'tenant1.users',
        queueGroup: 'tenant1-users',
        includePrivate: true,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses what cannot work, naming the variables', () => {
    expect(problemsWith({ USERS_ES_USER: 'svc' })).toEqual(['USERS_ES_USER and USERS_ES_PASSWORD must be set together']);
    expect(problemsWith({ USERS_ES_USER: 'svc', USERS_ES_PASSWORD: 'pw', USERS_ES_TOKEN: 't' })).toEqual([expect.stringContaining('give one of USERS_ES_USER/USERS_ES_PASSWORD, USERS_ES_TOKEN')]);
    expect(problemsWith({ USERS_ES_URL: 'nats://svc:pw@nats:4222', USERS_ES_TOKEN: 't' })).toEqual([expect.stringContaining('credentials in USERS_ES_URL')]);
    expect(problemsWith({ USERS_ES_NKEY_SEED_FILE: '/nonexistent/seed' })).toEqual([expect.stringContaining('USERS_ES_NKEY_SEED_FILE cannot be read')]);
    expect(problemsWith({ USERS_ES_API_PREFIX: 'users.>' })).toEqual([expect.stringContaining('USERS_ES_API_PREFIX')]);
    expect(problemsWith({ USERS_ES_QUEUE_GROUP: 'a b' })).toEqual([expect.stringContaining('USERS_ES_QUEUE_GROUP')]);
    expect(problemsWith({ USERS_EVENTS_INCLUDE_PRIVATE: 'maybe' })).toEqual(['USERS_EVENTS_INCLUDE_PRIVATE must be true or false']);
  });
});
