import type { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import * as pg from 'pg';
import { PGlite, type Extension } from '@electric-sql/pglite';

// PGlite types its subpath exports as ESM only (invisible to `moduleResolution: node`), so require them and type by hand.
const { pg_trgm } = require('@electric-sql/pglite/contrib/pg_trgm') as { pg_trgm: Extension };
const { createPgConfig } = require('@electric-sql/pglite/node-postgres') as {
  createPgConfig(pglite: PGlite): pg.PoolConfig & { connection: PgliteConnection };
};

interface PgliteConnection extends EventEmitter {
  connect(port: number, host: string): Promise<void>;
}

/**
 * A `pg` module look-alike for TypeORM's postgres `driver` option: each pool it makes runs an embedded
 * PGlite (PostgreSQL 18 in WASM) persisted in `dataDir`, while the real `pg` client still does the wire
 * protocol and type parsing, so parameters and results behave as on PostgreSQL.
 */
export function createPgliteDriver(dataDir: string): typeof pg {
  // `memory://` (e.g. for tests) keeps nothing on disk; anything else is a directory path.
  const inMemory = dataDir.startsWith('memory://');
  const dir = inMemory ? dataDir : resolve(dataDir);

  class PglitePool extends pg.Pool {
    private readonly pglite: PGlite;

    constructor(options?: pg.PoolConfig) {
      // PGlite creates only the last path segment itself.
      if (!inMemory) mkdirSync(dir, { recursive: true });
      // The migrations run CREATE EXTENSION pg_trgm, and PGlite can only create extensions loaded here.
      const pglite = new PGlite(dir, { extensions: { pg_trgm } });
      const config = createPgConfig(pglite);
      const { connection } = config;
      const connect = connection.connect.bind(connection);
      // pg ignores this promise, so a failed start (e.g. a corrupt data dir) would hang connect() and crash the process.
      connection.connect = (port, host) => connect(port, host).catch((err: unknown) => void connection.emit('error', err));
      // PGlite is a single session: one client, never evicted, so a transaction owns it and other queries queue.
      super({ ...options, ...config, max: 1, idleTimeoutMillis: 0 });
      this.pglite = pglite;
    }

    override end(): Promise<void>;
    override end(callback: (err?: Error) => void): void;
    override end(callback?: (err?: Error) => void): Promise<void> | void {
      // pg leaves PGlite running; closing it checkpoints the data dir and frees the WASM instance.
      const ended = super.end().then(() => this.pglite.close());
      if (!callback) return ended;
      ended.then(() => callback(), callback);
    }
  }

  return { ...pg, Pool: PglitePool };
}
