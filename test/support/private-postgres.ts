import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './built-app';

const run = promisify(execFile);
const BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const USER = 'postgres';

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` account. */
function account(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * A PostgreSQL server of the test's own (initdb in a temporary folder, a free loopback port, trust
 * authentication, no fsync), that the test can stop and start again under load: the machine's
 * PostgreSQL is shared and must never be stopped.
 */
export class PrivatePostgres {
  private readonly dir = mkdtempSync(join(tmpdir(), 'users-pg-'));
  private readonly data = join(this.dir, 'data');
  private readonly as = account();
  port = 0;

  /** initdb, start, and a database `name` to point the service at. */
  async create(name: string): Promise<this> {
    if (this.as) chownSync(this.dir, this.as.uid, this.as.gid);
    this.port = await freePort();
    await this.pg('initdb', ['-D', this.data, '-U', USER, '-A', 'trust', '--no-sync', '--no-instructions']);
    await this.start();
    const client = this.client('postgres');
    await client.connect();
    await client.query(`CREATE DATABASE "${name}"`);
    await client.end();
    return this;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    await this.pg('pg_ctl', ['start', '-D', this.data, '-w', '-t', '60', '-l', join(this.dir, 'server.log'), '-o', options]);
  }

  /** Stops it as an operator's restart does (`fast`: sessions are ended, clients see 57P01). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pg('pg_ctl', ['stop', '-D', this.data, '-w', '-t', '60', '-m', mode]);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The USERS_DB_* variables that point the service at `database` on this server. */
  env(database: string): Record<string, string> {
    return { USERS_DB_DRIVER: 'postgres', USERS_DB_HOST: '127.0.0.1', USERS_DB_PORT: String(this.port), USERS_DB_USER: USER, USERS_DB_PASS: '', USERS_DB_NAME: database };
  }

  client(database: string): Client {
    return new Client({ host: '127.0.0.1', port: this.port, user: USER, database });
  }

  private async pg(command: string, args: string[]): Promise<void> {
    await run(join(BIN, command), args, { cwd: this.dir, ...this.as, env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } });
  }
}
